"""HTTP handlers of obsportal: thin controllers over the domain services."""
