"""Small shared helpers: atomic file writes, cache/figure locations, seeding, device choice."""
