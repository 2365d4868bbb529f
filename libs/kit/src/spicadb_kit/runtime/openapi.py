"""The OpenAPI document of every installed service, generated offline (no database, no broker:
building the app does not start it), committed under contracts/openapi/ and checked for drift."""

from __future__ import annotations

import json
import logging
from importlib import import_module
from pathlib import Path
from typing import Any

from ..spec import ServiceSpec, discover_services

__all__ = ["document", "render", "write_or_check"]


def document(spec: ServiceSpec) -> dict[str, Any]:
    """A service's OpenAPI document, from its app built as the runtime builds it (no server started)."""
    module, _, factory = spec.app.partition(":")
    app = getattr(import_module(module), factory)()
    schema: dict[str, Any] = app.openapi_schema.to_schema()
    return schema


def render(spec: ServiceSpec) -> str:
    """A service's OpenAPI document as the committed JSON (sorted keys, so a diff shows only real
    changes)."""
    return json.dumps(document(spec), indent=2, sort_keys=True) + "\n"


def write_or_check(directory: Path, *, check: bool) -> int:
    """Write ``<service>.json`` per service, or (``check``) report the files that differ."""
    logging.disable(logging.WARNING)  # building apps outside a deployment warns about missing settings
    try:
        wanted = {f"{spec.name}.json": render(spec) for spec in discover_services()}
    finally:
        logging.disable(logging.NOTSET)
    existing = {p.name: p.read_text() for p in directory.glob("*.json")} if directory.exists() else {}
    if check:
        drift = sorted(n for n in wanted.keys() | existing.keys() if wanted.get(n) != existing.get(n))
        for name in drift:
            state = "missing" if name not in existing else "stale" if name not in wanted else "changed"
            print(f"openapi drift: {state}: {directory / name}")
        if drift:
            print("Run `make contracts` and commit the result.")
            return 1
        print(f"openapi: {len(wanted)} documents match the services")
        return 0
    directory.mkdir(parents=True, exist_ok=True)
    for name in existing.keys() - wanted.keys():
        (directory / name).unlink()
    for name, text in wanted.items():
        if existing.get(name) != text:
            (directory / name).write_text(text)
            print(f"wrote {directory / name}")
    return 0
