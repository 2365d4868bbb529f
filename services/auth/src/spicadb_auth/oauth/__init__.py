"""authlib's authorization server, configured for SPICA-DB: grants, PKCE, OpenID Connect,
RFC 9068 access tokens, revocation and introspection. Nothing here re-implements a grant: the
classes only tell authlib where things are stored (through the bridge, bridge.py)."""
