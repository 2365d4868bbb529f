"""SPICA-DB auth service: an OAuth 2.0 / OpenID Connect authorization server built on authlib's
server components (handlers -> services -> storage, like every SPICA-DB service)."""
