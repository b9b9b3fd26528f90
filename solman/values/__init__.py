"""Values: what a chapter may print, computed once, cached by content, formatted by filters."""
