"""adql."""
