"""The L0 view's VO documents on the kit's VOTable writer (whose names this module passes on, so the view's
code reads ``votable.table``, ``votable.Field``...): the error documents, and the DataLink service descriptor
every answer's rows point at their links with."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from spicadb_kit.votable import (
    MEDIA_TYPE,
    TAIL,
    Coosys,
    Field,
    Param,
    Resource,
    document,
    escape,
    info,
    param,
    pieces,
    table,
)

__all__ = [
    "DATALINK_STANDARD_ID",
    "DID_FIELD",
    "MEDIA_TYPE",
    "Coosys",
    "DataLink",
    "Field",
    "Resource",
    "error",
    "info",
    "param",
    "status_error",
    "table",
]

DATALINK_STANDARD_ID = "ivo://ivoa.net/std/DataLink#links-1.1"
# every L0 answer's last column: the exposure's observation as an IVOA identifier, the ID the platform's
# DataLink service (/oidb/links) takes; its descriptor's ID PARAM refers to this FIELD's XML ID
DID_FIELD = Field(
    "obs_publisher_did",
    "char",
    "meta.ref.ivoid",
    id="obs_publisher_did",
    description="IVOA identifier of the observation (the ID of its DataLink links)",
)


class DataLink:
    """How an L0 answer points at its rows' DataLink links: a DataLink 1.1 service descriptor (a RESOURCE
    type="meta" utype="adhoc:service", what pyvo's iter_datalinks and TOPCAT follow) naming
    ``<public_url>/oidb/links``, its ID taken from the ``obs_publisher_did`` column
    (``<l0_did_prefix>?<observation uuid>``, which the rows carry as the bare uuid)."""

    def __init__(self, public_url: str, l0_did_prefix: str) -> None:
        self.prefix = escape(f"{l0_did_prefix}?")
        params = [
            Param("standardID", DATALINK_STANDARD_ID, "char", id="links_standardID"),
            Param("accessURL", f"{public_url.rstrip('/')}/oidb/links", "char", ucd="meta.ref.url",
                  id="links_accessURL"),
        ]  # fmt: skip
        identifier = Param("ID", "", "char", id="links_ID", ref=DID_FIELD.id)
        self.descriptor = (
            ' <RESOURCE type="meta" utype="adhoc:service" name="links">\n'
            "  <DESCRIPTION>DataLink links of each row (files, plots, the granules reduced from it)</DESCRIPTION>\n"
            + "".join(p.xml("  ") for p in params)
            + '  <GROUP name="inputParams">\n'
            + identifier.xml("   ")
            + "  </GROUP>\n </RESOURCE>\n"
        )

    def did(self, observation_id: object) -> str:
        """The TD text of the identifier column from the row's observation uuid."""
        return "" if observation_id is None else f"{self.prefix}{observation_id}"

    def table(self, fields: Sequence[Field], rows: Iterable[Sequence[object]], *, resource: Resource) -> str:
        """A one-table VOTable (``fields`` ending with :data:`DID_FIELD`) followed by the descriptor."""
        cells = [None] * (len(fields) - 1) + [self.did]
        text = "".join(pieces(fields, rows, resource=resource, cells=cells))
        return text[: -len(TAIL)] + self.descriptor + TAIL


def error(message: str) -> str:
    """A Simple Cone Search error: one INFO name="Error" directly under VOTABLE (and an empty results
    RESOURCE, which the schema wants)."""
    return document(None, infos=[info("Error", message)]).decode()


def status_error(message: str) -> str:
    """A search.votable error, in ObsPortal's manner: PARAM status=ERROR with the message."""
    resource = Resource(params=[param("status", "ERROR"), param("message", message)])
    return document(None, infos=[info("Error", message)], resource=resource).decode()
