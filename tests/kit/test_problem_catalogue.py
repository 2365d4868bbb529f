"""Every problem a service answers is of a type of its catalogue, and its OpenAPI document lists that
catalogue: no problem built by hand from a bare string, no type declared outside the catalogue."""

from __future__ import annotations

import ast
import importlib
import json
import pkgutil
from pathlib import Path

import pytest

from spicadb_kit.errors import NotFound, Problem, Unprocessable
from spicadb_kit.problems import BAD_CURSOR, KIT, NOT_FOUND, Catalogue, ProblemType, for_status
from spicadb_kit.spec import ServiceSpec, discover_services

ROOT = Path(__file__).resolve().parents[2]
# the kit's own ways to build a problem by hand, which a catalogued service no longer uses
BY_HAND = frozenset({"Problem", "NotFound", "Conflict", "Unprocessable", "Unauthorized", "Forbidden"})

CATALOGUED = [spec for spec in discover_services() if spec.problems is not None]


def _package(spec: ServiceSpec) -> str:
    return spec.app.partition(":")[0].split(".")[0]


def _sources(package: str) -> dict[str, Path]:
    """The package's files by their path inside it."""
    module = importlib.import_module(package)
    assert module.__file__ is not None
    root = Path(module.__file__).parent
    return {path.relative_to(root).as_posix(): path for path in sorted(root.rglob("*.py"))}


def _name(node: ast.expr) -> str | None:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None


def _built_by_hand(path: Path) -> list[str]:
    """Where a file builds a problem without a catalogued type: the kit's problem classes called or
    subclassed, or a ``code=`` given as text."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call) and _name(node.func) in BY_HAND:
            found.append(f"{path.name}:{node.lineno} {_name(node.func)}(...)")
        elif isinstance(node, ast.Call) and any(
            k.arg == "code" and isinstance(k.value, (ast.Constant, ast.JoinedStr)) for k in node.keywords
        ):
            found.append(f"{path.name}:{node.lineno} code=...")
        elif isinstance(node, ast.ClassDef) and any(_name(base) in BY_HAND for base in node.bases):
            # a subclass names its catalogued type (``kind = INVALID_TARGET_LIST``), not a code of its own
            assigned = {
                t.id
                for n in node.body
                if isinstance(n, ast.Assign)
                for t in n.targets
                if isinstance(t, ast.Name)
            }
            if assigned & {"code", "status", "title"}:
                found.append(f"{path.name}:{node.lineno} class {node.name}")
    return found


@pytest.mark.parametrize("spec", CATALOGUED, ids=lambda spec: spec.name)
def test_a_catalogued_service_raises_only_types_of_its_catalogue(spec: ServiceSpec) -> None:
    package = _package(spec)
    assert spec.problems is not None
    by_hand = [where for path in _sources(package).values() for where in _built_by_hand(path)]
    assert by_hand == [], f"{spec.name} builds problems by hand instead of raising a catalogued type"
    # a type declared anywhere in the package but its catalogue would be answered undocumented
    root = importlib.import_module(package)
    for info in pkgutil.walk_packages(root.__path__, package + "."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if isinstance(value, ProblemType):
                assert value in spec.problems, f"{info.name}.{name} ({value.slug}) is not in the catalogue"


@pytest.mark.parametrize("spec", CATALOGUED, ids=lambda spec: spec.name)
def test_the_openapi_document_lists_the_catalogue(spec: ServiceSpec) -> None:
    assert spec.problems is not None
    document = json.loads((ROOT / "contracts" / "openapi" / f"{spec.name}.json").read_text())
    problem_type = document["components"]["schemas"]["ProblemDetails"]["properties"]["type"]
    assert problem_type["enum"] == spec.problems.uris()
    for kind in spec.problems.values():
        statuses = " or ".join(str(status) for status in (kind.status, *kind.also))
        assert f"`{kind.slug}` ({statuses}, {kind.title})" in problem_type["description"]


def test_the_kit_builds_no_problem_from_a_bare_string() -> None:
    kit = ROOT / "libs" / "kit" / "src" / "spicadb_kit"
    found = [where for path in sorted(kit.rglob("*.py")) for where in _built_by_hand(path)]
    assert found == []


def test_a_raised_type_answers_its_uri_title_and_status() -> None:
    document = BAD_CURSOR("the cursor is truncated").document(instance="/things")
    assert (document.type, document.title, document.status) == (
        "https://spicadb.jmmc.fr/problems/bad-cursor",
        "Bad cursor",
        400,
    )
    assert NOT_FOUND("no thing").document().title == "Not Found"
    # the kit's class and its type answer the same
    assert NotFound("no thing").document() == NOT_FOUND("no thing").document()
    assert isinstance(NOT_FOUND("no thing"), NotFound)  # caught as before


def test_a_type_answered_with_another_status_keeps_its_uri_and_title() -> None:
    named = ProblemType.http(404, "thing-not-found", "No such thing", also=(422,))
    problem = named("the body names no thing", status=422)
    assert isinstance(problem, Unprocessable)
    document = problem.document()
    assert (document.type, document.title, document.status) == (named.uri, "Not Found", 422)
    assert problem.kind in Catalogue([named])
    with pytest.raises(ValueError, match="409"):
        named("no thing", status=409)


def test_an_http_error_keeps_the_type_named_after_its_status() -> None:
    assert for_status(404) is NOT_FOUND
    assert for_status(405).uri == "https://spicadb.jmmc.fr/problems/method-not-allowed"
    assert for_status(503).slug == "service-unavailable"  # not expected, still answered as before


def test_a_catalogue_refuses_one_slug_declared_twice_differently() -> None:
    with pytest.raises(ValueError, match="not-found"):
        Catalogue([ProblemType.http(404, "not-found", "something else")])
    assert set(KIT) <= set(Catalogue([]))


def test_a_problem_takes_no_bare_code() -> None:
    with pytest.raises(TypeError, match="catalogue"):
        Problem("x", code="clash")


def test_one_type_has_one_title_across_the_services() -> None:
    # a type URI is one problem wherever it is answered (the target lists' 415 was titled apart from
    # the kit's unsupported-media-type, their unreadable lists apart from their invalid rows)
    titles: dict[str, set[str]] = {}
    for spec in CATALOGUED:
        assert spec.problems is not None
        for kind in spec.problems.values():
            titles.setdefault(kind.slug, set()).add(kind.title)
    assert {slug: found for slug, found in titles.items() if len(found) > 1} == {}
