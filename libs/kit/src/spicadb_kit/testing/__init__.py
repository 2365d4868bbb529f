"""Test kit: real PostgreSQL and NATS servers per session, a fresh database and clean
JetStream per test, a token minter with a test key, and a way to run a service in-process."""
