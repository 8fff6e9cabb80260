"""Helpers shared by the test packages: plain functions and classes, no test in here.

Fixtures live in the conftest files; anything two test modules need lives here, so that no test
module imports another.
"""
