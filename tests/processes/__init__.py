"""Tests whose promises span several OS processes, each with its own storage."""
