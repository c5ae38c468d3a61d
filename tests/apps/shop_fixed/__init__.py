"""A small shop API (sync): products, orders, reports -- the fixed twin of shop_buggy."""
