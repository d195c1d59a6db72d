"""Redis in front, the database behind: write-through, fallback, recovery (see architecture.md)."""
