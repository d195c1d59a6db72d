"""Contract suites: one per port, run against the fake and every real adapter alike.

Each suite is a class with abstract fixtures; a test module per adapter subclasses it and
provides them (see test_memory_contracts.py).
"""
