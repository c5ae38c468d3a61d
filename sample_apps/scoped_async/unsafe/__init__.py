"""Unsafe arm (SL009): a thread-scoped session registry; all async requests share one session."""
