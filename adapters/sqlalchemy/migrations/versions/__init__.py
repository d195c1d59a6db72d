"""The revisions, oldest first; Alembic loads them by file, never by import."""
