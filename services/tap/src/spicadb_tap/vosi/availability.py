"""VOSI availability: whether the service can answer queries now (its database reachable)."""

from __future__ import annotations

from datetime import datetime
from xml.etree import ElementTree as ET

from .xml import document, qname, sub

__all__ = ["availability_document"]


def availability_document(
    available: bool, *, note: str | None = None, up_since: datetime | None = None
) -> bytes:
    """``<vosi:availability>``: available true or false, since when the process runs, and why not."""
    root = ET.Element(qname("vosi", "availability"))
    sub(root, qname("vosi", "available"), "true" if available else "false")
    if up_since is not None:
        sub(root, qname("vosi", "upSince"), up_since.strftime("%Y-%m-%dT%H:%M:%SZ"))
    if note:
        sub(root, qname("vosi", "note"), note)
    return document(root)
