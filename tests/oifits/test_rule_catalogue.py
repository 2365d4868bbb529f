"""The rules a push is checked against (GET /oifits/rules): every rule the validator can name is listed
with what it checks, so a report (which names only the broken ones) can be read against the whole list."""

from __future__ import annotations

import re
from pathlib import Path

import spicadb_oifits
from oifits_support import OifitsService, push
from spicadb_oifits.catalogue import RULES
from synthetic import Spec, build, drop, reverse_wavelengths, to_bytes

RULE_ID = re.compile(r"\"([RWI]-[A-Z0-9]+)\"")


def _named_in_the_source() -> set[str]:
    package = Path(spicadb_oifits.__file__).parent
    named: set[str] = set()
    for source in package.rglob("*.py"):
        if source.name != "catalogue.py":
            named |= set(RULE_ID.findall(source.read_text()))
    return named


def test_every_rule_the_validator_names_is_listed_once() -> None:
    ids = [rule.id for rule in RULES]
    assert len(ids) == len(set(ids))
    assert set(ids) == _named_in_the_source()
    severities = {rule.id[0]: rule.severity for rule in RULES}
    assert severities == {"R": "error", "W": "warning", "I": "info"}
    assert [rule.profiles for rule in RULES if rule.id == "R-DRS"] == [["drs"]]


async def test_the_rules_are_listed_to_anyone_and_name_what_reports_find(service: OifitsService) -> None:
    async with service.running() as client:
        listed = await client.get("/oifits/rules")
        broken = await push(client, to_bytes(drop(build(Spec()), "OI_WAVELENGTH")), service.drs())
        warned = await push(client, to_bytes(reverse_wavelengths(build(Spec()))), service.drs())
    assert listed.status_code == 200, listed.text
    rules = {rule["id"]: rule for rule in listed.json()}
    assert rules["W-WAVE"] == {
        "id": "W-WAVE",
        "severity": "warning",
        "checks": "EFF_WAVE ascending and between 0.1 and 20 µm",
        "profiles": ["archive", "drs"],
    }
    assert broken.status_code == 422, broken.text
    found = broken.json()["report"]["findings"] + warned.json()["report"]["findings"]
    assert {"R-WAVE", "W-WAVE"} <= {f["rule"] for f in found}
    assert {f["rule"] for f in found} <= set(rules)
