"""VOSI capabilities: the TAP capability (TAPRegExt 1.0) and the VOSI and DALI endpoints beside it.

What it declares is what the service does: ADQL 2.0 with the geometry functions and the optional
features ``spicadb_tap.adql`` translates, the output formats ``spicadb_tap.results`` writes, the limits
of the settings (pyvo's ``maxrec``/``hardlimit`` read outputLimit; TOPCAT its upload and time limits).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple
from xml.etree import ElementTree as ET

from ..config import TapSettings
from .xml import XSI_TYPE, document, qname, sub

__all__ = [
    "ADQL_FEATURES",
    "GEOMETRY_FUNCTIONS",
    "OUTPUT_FORMATS",
    "OutputFormat",
    "base_url",
    "capabilities_document",
]

TAP = "ivo://ivoa.net/std/TAP"
REGEXT = "ivo://ivoa.net/std/TAPRegExt"
OBSCORE = "ivo://ivoa.net/std/ObsCore#core-1.1"
ADQL_2_0 = "ivo://ivoa.net/std/ADQL#v2.0"
ADQL_2_1 = "ivo://ivoa.net/std/ADQL#v2.1"

# the ADQL geometry functions the translation handles (TAPRegExt features-adqlgeo)
GEOMETRY_FUNCTIONS = (
    "POINT",
    "CIRCLE",
    "POLYGON",
    "BOX",
    "CONTAINS",
    "INTERSECTS",
    "DISTANCE",
    "AREA",
    "COORD1",
    "COORD2",
)
# ADQL 2.1's optional features the translation handles, by TAPRegExt feature type: (form, description)
ADQL_FEATURES: dict[str, tuple[tuple[str, str], ...]] = {
    f"{REGEXT}#features-adql-offset": (("OFFSET", "Skip the first rows of the result"),),
    f"{REGEXT}#features-adql-string": (("ILIKE", "Case-insensitive LIKE"),),
}


class OutputFormat(NamedTuple):
    """A RESPONSEFORMAT the service writes: its media type, short names and TAPRegExt id."""

    mime: str
    aliases: tuple[str, ...]
    ivo_id: str | None = None


# as spicadb_tap.results.FORMATS reads them (the first alias is the one to use)
OUTPUT_FORMATS = (
    OutputFormat("application/x-votable+xml", ("votable", "votable/td"), f"{REGEXT}#output-votable-td"),
    OutputFormat(
        "application/x-votable+xml;serialization=BINARY2", ("votable/b2",), f"{REGEXT}#output-votable-binary2"
    ),
    # TAPRegExt names no key for these (taplint E-CAP-XOFK)
    OutputFormat("text/csv;header=present", ("csv",)),
    OutputFormat("text/tab-separated-values", ("tsv",)),
    OutputFormat("application/json", ("json",)),
)
# the VOSI/DALI endpoints: (standardID, path under the base)
ENDPOINTS = (
    ("ivo://ivoa.net/std/VOSI#capabilities", "capabilities"),
    ("ivo://ivoa.net/std/VOSI#availability", "availability"),
    ("ivo://ivoa.net/std/VOSI#tables-1.1", "tables"),
    ("ivo://ivoa.net/std/DALI#examples", "examples"),
)


def base_url(settings: TapSettings) -> str:
    """Where users reach the service: the gateway's public URL, then /tap."""
    return settings.public_url.rstrip("/") + "/tap"


def _interface(capability: ET.Element, url: str, *, use: str, version: str | None = None) -> None:
    attributes = {XSI_TYPE: "vs:ParamHTTP", "role": "std"}
    if version:
        attributes["version"] = version
    interface = ET.SubElement(capability, "interface", attributes)
    sub(interface, "accessURL", url, use=use)


def _language(capability: ET.Element) -> None:
    language = sub(capability, "language")
    sub(language, "name", "ADQL")
    sub(language, "version", "2.0", ivo_id=ADQL_2_0)
    sub(language, "version", "2.1", ivo_id=ADQL_2_1)
    sub(
        language,
        "description",
        "ADQL 2.0 on PostgreSQL with pgSphere: tables named with their schema, the geometry functions "
        "below (ICRS), OFFSET, ILIKE",
    )
    geometry = sub(language, "languageFeatures", type=f"{REGEXT}#features-adqlgeo")
    for name in GEOMETRY_FUNCTIONS:
        sub(sub(geometry, "feature"), "form", name)
    for kind, features in ADQL_FEATURES.items():
        group = sub(language, "languageFeatures", type=kind)
        for form, description in features:
            feature = sub(group, "feature")
            sub(feature, "form", form)
            sub(feature, "description", description)


def _output_formats(capability: ET.Element, formats: Sequence[OutputFormat]) -> None:
    for fmt in formats:
        element = sub(capability, "outputFormat", **({"ivo_id": fmt.ivo_id} if fmt.ivo_id else {}))
        sub(element, "mime", fmt.mime)
        for alias in fmt.aliases:
            sub(element, "alias", alias)


def _limit(capability: ET.Element, name: str, default: int | None, hard: int, unit: str | None) -> None:
    element = sub(capability, name)
    units = {"unit": unit} if unit else {}
    if default is not None:
        sub(element, "default", str(default), **units)
    sub(element, "hard", str(hard), **units)


def capabilities_document(settings: TapSettings) -> bytes:
    """``<vosi:capabilities>`` with the TAP capability (tr:TableAccess) and the VOSI/DALI endpoints."""
    base = base_url(settings)
    root = ET.Element(qname("vosicap", "capabilities"))
    tap = ET.SubElement(root, "capability", {"standardID": TAP, XSI_TYPE: "tr:TableAccess"})
    _interface(tap, base, use="base", version="1.1")
    sub(tap, "dataModel", "ObsCore-1.1", ivo_id=OBSCORE)
    _language(tap)
    _output_formats(tap, OUTPUT_FORMATS)
    for method in ("upload-inline", "upload-http", "upload-https"):  # URLs: fetched, bounded, guarded
        ET.SubElement(tap, "uploadMethod", {"ivo-id": f"{REGEXT}#{method}"})
    _limit(tap, "retentionPeriod", settings.async_destruction, settings.async_max_destruction, None)
    _limit(
        tap,
        "executionDuration",
        settings.async_execution_duration,
        settings.async_max_execution_duration,
        None,
    )
    _limit(tap, "outputLimit", settings.default_maxrec, settings.hard_maxrec, "row")
    _limit(tap, "uploadLimit", None, settings.upload_max_bytes, "byte")
    for standard, path in ENDPOINTS:
        capability = ET.SubElement(root, "capability", {"standardID": standard})
        _interface(capability, f"{base}/{path}", use="full")
    return document(root, declare=("vr", "vs", "tr"))
