"""A small notes API (async): notes, comments, view counts, stats -- the fixed twin of notes_buggy."""
