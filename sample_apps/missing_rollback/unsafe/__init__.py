"""Unsafe arm (SL006): a module-level Session, and a 409 handler that never rolls it back."""
