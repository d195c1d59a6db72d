"""Test support for platform-sessions: real-server fixtures and their helpers.

Load the fixtures from the project's ``tests/conftest.py`` with::

    pytest_plugins = ["tests.support.services"]
"""
