"""Pages rendered from the package's Jinja templates (autoescaped), with the console's headers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import cache
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from litestar import Response

from .api import ApiProblem

HTML = "text/html; charset=utf-8"


def href(base: str, params: Mapping[str, Any] | Iterable[tuple[str, Any]] = (), **more: Any) -> str:
    """``base?query`` from parameters, the empty ones left out (a link keeps the page's filters)."""
    pairs = list(params.items()) if isinstance(params, Mapping) else list(params)
    pairs += list(more.items())
    kept = [(k, v) for k, v in pairs if v not in (None, "")]
    return base + ("?" + urlencode(kept) if kept else "")


def number(value: Any, digits: int = 2) -> str:
    """A float as a table shows it ('' for none)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def moment(value: Any, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """An ISO 8601 instant from an API as people read it (UTC, to the second); anything else as it is."""
    if not isinstance(value, str):
        return "" if value is None else str(value)
    try:
        return datetime.fromisoformat(value).strftime(fmt)
    except ValueError:
        return value


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("spicadb_web", "templates"),
        autoescape=select_autoescape(("html",)),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["href"] = href
    env.globals["csrf_cookie"] = "spicadb_gateway_csrf"  # the app sets its setting's
    env.filters["number"] = number
    env.filters["moment"] = moment
    # a part of a page the API refused: `{% if view.members is problem %}`
    env.tests["problem"] = lambda value: isinstance(value, ApiProblem)
    return env


def page(template: str, status: int = 200, **context: Any) -> Response[str]:
    """A page: never cached (it holds what one visitor may see)."""
    html = environment().get_template(template).render(**context)
    return Response(
        html,
        status_code=status,
        media_type="text/html",  # Litestar adds the charset (to HTML's, a second one)
        headers={"Cache-Control": "no-store", "Vary": "Authorization"},
    )
