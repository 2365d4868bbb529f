"""TAP_SCHEMA's published tables (schemas, tables, columns, keys, key_columns)."""

from __future__ import annotations

from spicadb_kit.published import PublishedTable

PUBLISHED: tuple[PublishedTable, ...] = ()
