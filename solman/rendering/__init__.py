"""Rendering: chapter templates and the built-in shells become LaTeX sources."""
