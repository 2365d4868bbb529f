"""`spicadb` takes commands from the services (entry-point group ``spicadb.commands``) without the kit
importing them: a command a service adds runs with its exit status, and one that cannot load or that
would shadow a kit command is left out without taking `spicadb` down."""

from __future__ import annotations

import argparse
from importlib.metadata import EntryPoint
from typing import Any

import pytest

from spicadb_kit.runtime import cli


def add_hello(commands: Any) -> None:
    hello = commands.add_parser("hello", help="a service's command")
    hello.add_argument("--status", type=int, default=0)
    hello.set_defaults(handler=lambda args: args.status)


def add_run(commands: Any) -> None:  # would shadow the kit's own `run`
    raise AssertionError("a kit command must not be offered to a service")


def broken(commands: Any) -> None:
    raise ImportError("a dependency of the service is missing")


def entries(group: str) -> list[EntryPoint]:
    assert group == cli.COMMANDS_GROUP
    here = __name__
    return [
        EntryPoint("hello", f"{here}:add_hello", group),
        EntryPoint("run", f"{here}:add_run", group),
        EntryPoint("broken", f"{here}:broken", group),
    ]


def test_a_service_command_runs_and_a_broken_one_is_left_out(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "entry_points", lambda group: entries(group))
    assert cli.main(["hello", "--status", "3"]) == 3
    assert cli.main(["hello"]) == 0
    err = capsys.readouterr().err
    assert "command broken" in err
    assert "a dependency of the service is missing" in err
    with pytest.raises(SystemExit):
        cli.main(["broken"])


def test_the_installed_tap_service_adds_catalogue() -> None:
    parser = cli._parser()
    args = parser.parse_args(["catalogue", "import", "jsdc.vot", "--replace"])
    assert isinstance(args, argparse.Namespace)
    assert (args.catalogue_action, args.replace, args.skip_bad) == ("import", True, False)
    assert callable(args.handler)
