"""Safe arm: a new AsyncSession per request from a yield dependency."""
