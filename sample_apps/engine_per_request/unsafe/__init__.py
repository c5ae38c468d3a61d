"""Unsafe arm (SL011 engine-per-request): a new engine, pool and connection per request."""
