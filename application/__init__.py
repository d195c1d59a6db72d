"""Use cases: what the library does, written against the domain's ports only."""
