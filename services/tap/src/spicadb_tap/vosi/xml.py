"""What the VOSI documents share: their namespaces and how they are written (UTF-8, declared)."""

from __future__ import annotations

from xml.etree import ElementTree as ET

__all__ = ["MEDIA_TYPE", "NS", "document", "sub"]

# VOSI documents are XML; text/xml is what VOSI 1.1 names
MEDIA_TYPE = "text/xml; charset=utf-8"

NS = {
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
    "vosi": "http://www.ivoa.net/xml/VOSIAvailability/v1.0",
    "vosicap": "http://www.ivoa.net/xml/VOSICapabilities/v1.0",
    "vtm": "http://www.ivoa.net/xml/VOSITables/v1.0",
    "vr": "http://www.ivoa.net/xml/VOResource/v1.0",
    # VODataService 1.2 keeps the 1.1 namespace
    "vs": "http://www.ivoa.net/xml/VODataService/v1.1",
    "tr": "http://www.ivoa.net/xml/TAPRegExt/v1.0",
}
XSI_TYPE = f"{{{NS['xsi']}}}type"


def qname(prefix: str, name: str) -> str:
    """An ElementTree name in one of :data:`NS`'s namespaces."""
    return f"{{{NS[prefix]}}}{name}"


def sub(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    """A child element (attributes named with ``_`` for ``-``), with its text if any."""
    element = ET.SubElement(parent, tag, {k.replace("_", "-"): v for k, v in attributes.items()})
    if text is not None:
        element.text = text
    return element


def document(root: ET.Element, *, declare: tuple[str, ...] = ()) -> bytes:
    """The document, UTF-8 with its XML declaration. ``declare``: prefixes only used inside attribute
    values (``xsi:type="vs:ParamHTTP"``), which ElementTree would not declare by itself."""
    for prefix in declare:
        root.set(f"xmlns:{prefix}", NS[prefix])
    written: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return written


for _prefix, _uri in NS.items():
    ET.register_namespace(_prefix, _uri)
