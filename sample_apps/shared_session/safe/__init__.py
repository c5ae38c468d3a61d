"""Safe arm: a new Session per request from the ``get_db`` yield dependency."""
