"""A small shop API (sync): products, orders, reports -- with planted session bugs."""
