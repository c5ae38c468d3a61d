"""The stress harness (see issue 4)."""
