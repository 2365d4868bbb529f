"""HTTP handlers of the night-logs service."""
