"""The error documents of the L0 view's VO endpoints, on the kit's VOTable writer (whose names this module
passes on, so the view's code reads ``votable.table``, ``votable.Field``...)."""

from __future__ import annotations

from spicadb_kit.votable import HEAD, MEDIA_TYPE, TAIL, Field, escape, info, param, table

__all__ = ["HEAD", "MEDIA_TYPE", "TAIL", "Field", "error", "escape", "info", "param", "status_error", "table"]


def error(message: str) -> str:
    """A Simple Cone Search error: one INFO name="Error" directly under VOTABLE (and an empty results
    RESOURCE, which the schema wants)."""
    return f'{HEAD}{info("Error", message, indent=" ")} <RESOURCE type="results"/>\n{TAIL}'


def status_error(message: str) -> str:
    """A search.votable error, in ObsPortal's manner: PARAM status=ERROR with the message."""
    return (
        f'{HEAD}{info("Error", message, indent=" ")} <RESOURCE type="results">\n'
        f"{param('status', 'ERROR')}{param('message', message)} </RESOURCE>\n{TAIL}"
    )
