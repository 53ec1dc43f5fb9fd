"""Side-by-side measurements of leadway-async against baselines (never timed tests)."""
