"""DALI examples (``/tap/examples``): queries a user can start from, in XHTML with DALI's RDFa terms
(TOPCAT lists them in its examples menu; taplint's EXA stage reads them)."""

from __future__ import annotations

from typing import NamedTuple
from xml.etree import ElementTree as ET

from .xml import sub

__all__ = ["EXAMPLES", "MEDIA_TYPE", "Example", "examples_document"]

MEDIA_TYPE = "application/xhtml+xml; charset=utf-8"
XHTML = "http://www.w3.org/1999/xhtml"


class Example(NamedTuple):
    """One example: its fragment id, title, what it does, and the ADQL."""

    id: str
    name: str
    description: str
    query: str


EXAMPLES = (
    Example(
        "obscore-cone",
        "Data around a position (ObsCore cone)",
        "What TOPCAT and other clients ask first: every granule whose position lies within 0.5 degree of "
        "RA 83.63, Dec 22.01 (ICRS). Only released data without a token; with one, your programmes' too.",
        "SELECT * FROM ivoa.ObsCore\n"
        "WHERE 1 = CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 83.63, 22.01, 0.5))",
    ),
    Example(
        "obscore-target",
        "Reduced data of one target, by instrument mode",
        "Granules of one target with their time span, wavelength range and access URL, newest first.",
        "SELECT TOP 100 obs_publisher_did, target_name, instrument_name, instrument_mode, t_min, t_max,\n"
        "       em_min, em_max, access_url\n"
        "FROM ivoa.ObsCore\n"
        "WHERE target_name = 'HD 1234'\n"
        "ORDER BY t_min DESC",
    ),
    Example(
        "exposures-cone",
        "Raw exposures (L0) near a position",
        "SPICA exposures with ObsPortal's column names, within 30 arcseconds of a position, with the "
        "validation level the night logs gave them.",
        "SELECT TOP 100 exp_id, target_name, exp_mjd_start, exp_mjd_end, instrument_mode,\n"
        "       exp_validation_level\n"
        "FROM obsportal.exposures\n"
        "WHERE 1 = CONTAINS(POINT('ICRS', target_ra, target_dec), CIRCLE('ICRS', 83.63, 22.01, 30.0/3600))\n"
        "ORDER BY exp_mjd_start",
    ),
    Example(
        "programme-targets",
        "Targets of a programme",
        "The targets of the public programmes (and yours, with a token) whose name starts with HD.",
        "SELECT TOP 100 *\nFROM spicadb.targets\nWHERE name LIKE 'HD%'",
    ),
    Example(
        "calibrators-near",
        "Calibrators around a science target",
        "Calibrators of the imported catalogues within 2 degrees of a position, nearest first, with their "
        "limb-darkened diameter.",
        'SELECT TOP 20 name, ra, "dec", ldd, e_ldd, sptype,\n'
        "       DISTANCE(POINT('ICRS', ra, \"dec\"), POINT('ICRS', 83.63, 22.01)) AS separation\n"
        "FROM catalogues.calibrators\n"
        "WHERE 1 = CONTAINS(POINT('ICRS', ra, \"dec\"), CIRCLE('ICRS', 83.63, 22.01, 2.0))\n"
        "ORDER BY separation",
    ),
)


def _example(body: ET.Element, example: Example) -> None:
    section = sub(body, "div", id=example.id, resource=f"#{example.id}", typeof="example")
    sub(section, "h2", example.name, property="name")
    sub(section, "p", example.description)
    sub(section, "pre", example.query, property="query", **{"class": "dali-example"})


def examples_document(title: str = "SPICA-DB TAP examples") -> bytes:
    """The examples as an XHTML document (DALI 1.1 §2.3)."""
    html = ET.Element("html", {"xmlns": XHTML})
    head = sub(html, "head")
    sub(head, "title", title)
    # DALI 1.1 §2.3 (the older ivo://ivoa.net/std/DALI-examples draws taplint W-EXA-EXVC)
    body = sub(html, "body", vocab="http://www.ivoa.net/rdf/examples#")
    sub(body, "h1", title)
    for example in EXAMPLES:
        _example(body, example)
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html>\n'
        + ET.tostring(html, encoding="unicode").encode()
    )
