"""Safe arm: the background job gets ids and opens its own Session."""
