"""A small notes API (async): notes, comments, view counts, stats -- with planted session bugs."""
