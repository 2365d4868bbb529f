"""Container entry point: run one SPICA-DB service under uvicorn, configured from SPICADB_* variables.

    python serve.py [SERVICE]

The service is looked up among the installed ``spicadb.services`` entry points; the name may be left out
when the image holds exactly one. Host and port come from the service's own settings class, so
``SPICADB_HOST`` and ``SPICADB_PORT`` mean the same thing here as under ``make run``.
"""

from __future__ import annotations

import sys

import uvicorn

from spicadb_kit.spec import discover_services

# Longer than the 60 s idle timeout of common ingress controllers and load balancers, so that the proxy
# closes idle connections first and never sends a request on a connection uvicorn is closing.
KEEP_ALIVE_SECONDS = 61


def main(argv: list[str]) -> int:
    specs = {spec.name: spec for spec in discover_services()}
    installed = ", ".join(specs) or "none"
    if len(argv) > 1:
        name = argv[1]
    elif len(specs) == 1:
        (name,) = specs
    else:
        print(f"usage: serve.py SERVICE (installed: {installed})", file=sys.stderr)
        return 2
    spec = specs.get(name)
    if spec is None:
        print(f"serve.py: no installed service {name!r} (installed: {installed})", file=sys.stderr)
        return 2
    settings = spec.settings.from_env()
    uvicorn.run(
        spec.app,
        factory=True,
        host=settings.host,
        port=settings.port,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        # the app configures logging itself (structured logs in production)
        log_config=None,
        # behind the gateway or an ingress: trust X-Forwarded-* for the client address and scheme
        proxy_headers=True,
        forwarded_allow_ips="*",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
