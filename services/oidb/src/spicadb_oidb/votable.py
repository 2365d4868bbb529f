"""DataLink 1.1 {links} answers and DALI errors, on the kit's VOTable writer (the fixed columns of
DataLink, no astropy writer)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from spicadb_kit.votable import MEDIA_TYPE, Field, Resource, document, info, table

__all__ = ["DATALINK_MEDIA_TYPE", "MEDIA_TYPE", "STANDARD_ID", "Link", "error", "links"]

DATALINK_MEDIA_TYPE = "application/x-votable+xml;content=datalink"
STANDARD_ID = "ivo://ivoa.net/std/DataLink#links-1.1"


class Link(NamedTuple):
    """One row of a {links} table: exactly one of access_url, service_def, error_message is set."""

    id: str
    access_url: str | None = None
    service_def: str | None = None
    error_message: str | None = None
    description: str | None = None
    semantics: str | None = None
    content_type: str | None = None
    content_length: int | None = None


# DataLink 1.1 §3.2: the required columns, in this order, with their UCDs (strings are char, "*")
FIELDS = (
    Field("ID", "char", "meta.id;meta.main"),
    Field("access_url", "char", "meta.ref.url"),
    Field("service_def", "char", "meta.ref"),
    Field("error_message", "char", "meta.code.error"),
    Field("description", "char", "meta.note"),
    Field("semantics", "char", "meta.code"),
    Field("content_type", "char", "meta.code.mime"),
    Field("content_length", "long", "phys.size;meta.file", "byte"),
)


def links(rows: Iterable[Link]) -> str:
    """A whole {links} response: RESOURCE type="results" with the DataLink 1.1 standardID."""
    head = Resource(infos=[info("standardID", STANDARD_ID), info("QUERY_STATUS", "OK")])
    return table(FIELDS, rows, resource=head)


def error(message: str) -> str:
    """A DALI error document: INFO QUERY_STATUS=ERROR with the message, in the results RESOURCE."""
    return document(None, resource=Resource(infos=[info("QUERY_STATUS", "ERROR", message)])).decode()
