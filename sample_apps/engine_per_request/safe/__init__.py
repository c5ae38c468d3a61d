"""Safe arm: one engine per app, made in the lifespan; sessions share its pool."""
