"""Reports for people (Rich tables) and machines (CSV, JSON)."""
