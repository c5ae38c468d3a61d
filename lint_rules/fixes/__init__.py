"""Autofixes: building text edits from rule fix specs, and applying them."""
