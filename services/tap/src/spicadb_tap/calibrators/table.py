"""The calibrator catalogue's published table (catalogues.calibrators)."""

from __future__ import annotations

from spicadb_kit.published import PublishedTable

PUBLISHED: tuple[PublishedTable, ...] = ()
