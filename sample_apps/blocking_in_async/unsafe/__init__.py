"""Unsafe arm (SL12): a sync Session used in an async def route blocks the event loop."""
