"""What each page shows, gathered from the APIs (no HTTP framework here)."""
