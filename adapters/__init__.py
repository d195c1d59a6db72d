"""Adapters: implementations of the domain's ports (in-memory, Redis, SQLAlchemy)."""
