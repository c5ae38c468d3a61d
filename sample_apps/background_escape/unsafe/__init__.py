"""Unsafe arm (SL10): the background job gets the request's Session and ORM object."""
