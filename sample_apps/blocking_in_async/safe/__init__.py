"""Safe arm: the same route as a def, run in FastAPI's threadpool."""
