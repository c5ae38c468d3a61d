"""Safe arm: a Session per request from ``get_db``, rolled back when its commit fails."""
