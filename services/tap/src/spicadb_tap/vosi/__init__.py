"""vosi."""
