"""Unsafe arm (SL01 global-session): one module-level Session shared by every request."""
