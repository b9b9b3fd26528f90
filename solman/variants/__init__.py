"""Per-student variants: drawn givens (params), building every variant (builds), stress tests (stress)."""
