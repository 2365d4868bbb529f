"""The error documents of the L0 view's VO endpoints, on the kit's VOTable writer (whose names this module
passes on, so the view's code reads ``votable.table``, ``votable.Field``...)."""

from __future__ import annotations

from spicadb_kit.votable import MEDIA_TYPE, Coosys, Field, Resource, document, info, param, table

__all__ = ["MEDIA_TYPE", "Coosys", "Field", "Resource", "error", "info", "param", "status_error", "table"]


def error(message: str) -> str:
    """A Simple Cone Search error: one INFO name="Error" directly under VOTABLE (and an empty results
    RESOURCE, which the schema wants)."""
    return document(None, infos=[info("Error", message)]).decode()


def status_error(message: str) -> str:
    """A search.votable error, in ObsPortal's manner: PARAM status=ERROR with the message."""
    resource = Resource(params=[param("status", "ERROR"), param("message", message)])
    return document(None, infos=[info("Error", message)], resource=resource).decode()
