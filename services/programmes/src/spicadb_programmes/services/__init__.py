"""Domain services: the rules of the programmes domain; each write is one transaction with its events."""
