"""SQL of the programmes service, one store per table family; every method runs on the caller's
connection (inside the domain service's transaction when it writes)."""
