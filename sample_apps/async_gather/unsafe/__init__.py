"""Unsafe arm (SL008): the request's one AsyncSession is shared by asyncio.gather tasks."""
