"""Unsafe arm (SL015): a per-request Session, but the balance is read, changed in Python and written back."""
