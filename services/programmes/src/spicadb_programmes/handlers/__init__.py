"""HTTP handlers: parse, call a domain service, shape the answer."""
