"""Run one installed service under uvicorn, configured from SPICADB_* variables."""

from __future__ import annotations

import uvicorn

from ..spec import ServiceSpec, discover_services

# Longer than the 60 s idle timeout of common ingress controllers, so the proxy closes idle
# connections first and never sends a request on a connection uvicorn is closing.
KEEP_ALIVE_SECONDS = 61


class UnknownService(LookupError):
    pass


def find_service(name: str | None) -> ServiceSpec:
    specs = {spec.name: spec for spec in discover_services()}
    installed = ", ".join(specs) or "none"
    if name is None and len(specs) == 1:
        return next(iter(specs.values()))
    if name is None or name not in specs:
        raise UnknownService(f"no installed service {name!r} (installed: {installed})")
    return specs[name]


def serve(name: str | None) -> None:
    spec = find_service(name)
    settings = spec.settings.from_env()
    uvicorn.run(
        spec.app,
        factory=True,
        host=settings.host,
        port=settings.port,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        log_config=None,  # the app configures structured logging itself
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )
