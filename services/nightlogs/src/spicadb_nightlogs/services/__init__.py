"""Domain services: each owns its transactions and writes its events through the outbox."""
