"""Unsafe arm (SL003/SL004/SL005): sessions left open on some or every path."""
