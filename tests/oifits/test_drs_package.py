"""The DRS command is a package of its own: what the DRS machine installs is HTTP only, not the server."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import distribution, entry_points

from packaging.requirements import Requirement

SERVER_ONLY = ("litestar", "asyncpg", "nats-py", "astropy", "spicadb-kit", "spicadb-oifits")

# Runs the command's --help with every server package made unimportable, as on a DRS machine without them.
WITHOUT_SERVER = """
import sys
from importlib.abc import MetaPathFinder

class Refuse(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("litestar", "asyncpg", "nats", "astropy", "spicadb_kit", "spicadb_oifits"):
            raise ImportError(f"server package {name} imported by the DRS command")
        return None

sys.meta_path.insert(0, Refuse())
from spicadb_drs.client import main
sys.exit(main(["push", "--help"]))
"""


def test_spicadb_drs_is_the_drs_package_command() -> None:
    (command,) = entry_points(group="console_scripts", name="spicadb-drs")
    assert command.value == "spicadb_drs.client:main"
    assert command.dist is not None
    assert command.dist.name == "spicadb-drs"


def test_the_drs_package_needs_none_of_the_servers_dependencies() -> None:
    needs = {Requirement(text).name.lower() for text in distribution("spicadb-drs").requires or []}
    assert needs == {"httpx", "authlib", "rich"}
    assert not needs & set(SERVER_ONLY)


def test_the_command_runs_without_any_server_package() -> None:
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_SERVER], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "--product-from-name" in done.stdout
