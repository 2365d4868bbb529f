"""Domain services: they own the transactions (or run inside the OAuth request's transaction,
see bridge.py), write the audit rows and the outbox events with the change. Each is given only
what it uses (a pool, the outbox, the key ring, ...), by factory.py."""
