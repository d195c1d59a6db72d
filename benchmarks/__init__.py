"""Benchmarks of platform-sessions against real servers: ``python -m benchmarks`` (see README)."""
