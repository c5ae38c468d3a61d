"""Safe arm: every asyncio.gather task opens its own AsyncSession from the sessionmaker."""
