"""The SPICA-DB web console: server-rendered pages at the gateway's root."""
