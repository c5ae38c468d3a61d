"""Safe arm: every Session is closed on every path (``with`` or ``try/finally``)."""
