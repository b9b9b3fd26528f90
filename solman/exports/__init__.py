"""Exports: answer keys and the Overleaf project."""
