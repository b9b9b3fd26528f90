"""TeX: latexmk in a sandbox, its logs read back, the tools it needs."""
