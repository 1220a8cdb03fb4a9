"""Tests of quiver_torch, run against a real server by tests/clients/python.test.ts."""
