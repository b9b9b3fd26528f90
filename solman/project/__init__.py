"""The project: its settings, its chapters and editions, and new projects and chapters."""
