"""HTTP handlers of oidb: thin controllers over the domain services."""
