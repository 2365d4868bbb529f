"""The web console's own tables (NNNN_name.sql, applied in its schema by spicadb migrate)."""
