"""Every L0 answer (Simple Cone Search, search.votable) carries a DataLink 1.1 service descriptor: a RESOURCE
type="meta" utype="adhoc:service" naming <public_url>/oidb/links, its ID PARAM referring to the rows'
obs_publisher_did column. pyvo follows it from a cone search's result to the oidb service's links of the
observation (the granules reduced from it), both services on real ports; the answers pass votlint."""

from __future__ import annotations

import asyncio
import io
import uuid
import warnings
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from gateway_support import LocalServer
from harness import eventually
from nats.js import JetStreamContext
from obsportal_support import VO, ObsportalService, log, logged, votlint
from oidb_support import OidbService, granule, indexed, push

from spicadb_kit.infra import NatsServer
from spicadb_kit.testing.tokens import TokenFactory

VEGA = (279.2347, 38.7837)
L0 = "ivo://jmmc.fr/spicadb/l0"
STANDARD_ID = "ivo://ivoa.net/std/DataLink#links-1.1"


@dataclass
class Views:
    obsportal: ObsportalService
    oidb: OidbService
    obsportal_url: str
    oidb_url: str


@pytest.fixture
async def views(
    database: str, jetstream: JetStreamContext, nats_server: NatsServer, tokens: TokenFactory
) -> AsyncIterator[Views]:
    """The L0 and L2 views in one database, each on a real port; the L0 view's public URL is the oidb
    server's (where the gateway would send /oidb/links)."""
    obsportal = ObsportalService(database, nats_server.url, tokens, jetstream)
    oidb = OidbService(database, nats_server.url, tokens, jetstream)
    await obsportal.install()
    await oidb.install()
    oidb_server = await LocalServer(oidb.create_app(oidb.settings(), verifier=tokens.verifier())).start()
    settings = obsportal.settings(public_url=oidb_server.url)
    obsportal_server = await LocalServer(obsportal.create_app(settings, verifier=tokens.verifier())).start()
    try:
        yield Views(obsportal, oidb, obsportal_server.url, oidb_server.url)
    finally:
        await obsportal_server.stop()
        await oidb_server.stop()
        await obsportal.close()
        await oidb.close()


async def observed_and_reduced(views: Views) -> uuid.UUID:
    """Vega observed in 2020 by LP-1 (released), and a granule reduced from that observation."""
    await views.obsportal.programme("LP-1", months=0)  # both views take it from the same stream
    observation = logged("Vega", *VEGA, start=datetime(2020, 9, 24, 17, 25, tzinfo=UTC))
    await log(views.obsportal, observation)
    reduced = granule(
        "Vega", VEGA, observations=[observation.observation_id], end=datetime.now(UTC) - timedelta(days=2)
    )
    await push(views.oidb, indexed(reduced))

    async def drained() -> bool:
        return await views.obsportal.drained() and await views.oidb.drained()

    await eventually(drained, timeout=15)
    return observation.observation_id


def descriptor(text: str) -> tuple[dict[str, str], str, str]:
    """The service descriptor's PARAM values by name, the ID PARAM's ref, and the XML ID of the FIELD
    it names (its name)."""
    root = ET.fromstring(text)
    [meta] = [r for r in root.findall(f"{VO}RESOURCE") if r.get("type") == "meta"]
    assert meta.get("utype") == "adhoc:service"
    params = {p.get("name", ""): p.get("value", "") for p in meta.findall(f"{VO}PARAM")}
    [group] = meta.findall(f"{VO}GROUP")
    assert group.get("name") == "inputParams"
    [identifier] = group.findall(f"{VO}PARAM")
    assert identifier.get("name") == "ID"
    ref = identifier.get("ref", "")
    named = [f.get("name", "") for f in root.iter(f"{VO}FIELD") if f.get("ID") == ref]
    return params, ref, named[0] if named else ""


def links_of_cone(url: str) -> tuple[list[str], list[list[dict[str, Any]]]]:
    """pyvo: a cone search, then each row's DataLink links through the descriptor (blocking)."""
    import pyvo

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = pyvo.dal.SCSService(url).search(pos=VEGA, radius=0.01)
        dids = [str(d) for d in result["obs_publisher_did"]]
        links = [
            [dict(zip(d.fieldnames, row, strict=True)) for row in d.to_table()]
            for d in result.iter_datalinks()
        ]
    return dids, links


async def test_cone_search_rows_lead_pyvo_to_their_datalinks(views: Views, tmp_path: Path) -> None:
    observation = await observed_and_reduced(views)
    did = f"{L0}?{observation}"
    dids, links = await asyncio.to_thread(links_of_cone, f"{views.obsportal_url}/obsportal/scs")
    assert dids == [did]
    [rows] = links
    assert {str(r["ID"]) for r in rows} == {did}
    assert "#derivation" in {str(r["semantics"]) for r in rows}
    async with httpx.AsyncClient(base_url=views.obsportal_url) as client:
        answers = [
            await client.get("/obsportal/scs", params={"RA": VEGA[0], "DEC": VEGA[1], "SR": sr, "VERB": verb})
            for sr, verb in (("0.01", "1"), ("0.01", "2"), ("0.01", "3"), ("0", "2"))
        ]
    for answer in answers:
        assert answer.status_code == 200, answer.text
        params, ref, field = descriptor(answer.text)
        assert params == {"standardID": STANDARD_ID, "accessURL": f"{views.oidb_url}/oidb/links"}
        assert (ref, field) == ("obs_publisher_did", "obs_publisher_did")
    votlint(answers[0].text, tmp_path)


async def test_search_votable_carries_the_descriptor(views: Views, tmp_path: Path) -> None:
    observation = await observed_and_reduced(views)
    form = {"ra": str(VEGA[0]), "dec": str(VEGA[1]), "radius": "30.0", "all_fields": "false"}
    async with httpx.AsyncClient(base_url=views.obsportal_url) as client:
        found = await client.post("/obsportal/search.votable", data=form)
        # none found: the table is empty, the descriptor still there
        none = await client.post("/obsportal/search.votable", data={**form, "dec": "-40"})
        wrong = await client.post("/obsportal/search.votable", data={**form, "ra": "abc"})
    for answer in (found, none):
        assert answer.status_code == 200, answer.text
        params, _ref, field = descriptor(answer.text)
        assert params["accessURL"] == f"{views.oidb_url}/oidb/links"
        assert field == "obs_publisher_did"
    # an error document points nowhere
    assert wrong.status_code == 400
    assert 'utype="adhoc:service"' not in wrong.text
    from astropy.io.votable import parse

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = parse(io.BytesIO(found.content)).get_first_table()
    assert [str(v) for v in table.array["obs_publisher_did"]] == [f"{L0}?{observation}"]
    votlint(found.text, tmp_path)
