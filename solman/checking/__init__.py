"""Checks: tests run, coverage, sensitivity, the display contract, lint, leaks, drift."""
