"""SQL of the oidb service; every method runs on the caller's connection (inside the consumer's
transaction when it writes)."""
