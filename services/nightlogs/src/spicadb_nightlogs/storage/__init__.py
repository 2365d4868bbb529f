"""SQL of the night-logs service."""
