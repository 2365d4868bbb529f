"""End to end through the gateway and NATS, five services together: a programme's target is logged by
CHARA in nightlogs; the DRS pushes the reduced file through the gateway with its robot token; the file's
granule is linked to the observation and appears in the OiDB table within seconds, for the programme's
members only; a quality flag on the observation reaches the granule's quality; the DataLink answer leads
from the L2 granule to its L0 observation and back."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import httpx
from gateway_support import AUTH_STAND_IN, Jwks, LocalServer
from harness import eventually
from nats.js import JetStreamContext
from nightlogs_support import FLAG, NightLogsService, csv_log, line, mjd_at, post_log
from oidb_support import OidbService
from oifits_support import OifitsService, oifits
from programmes_support import ProgrammesService
from spicadb_gateway.app import create_app as create_gateway
from spicadb_gateway.config import GatewaySettings
from spicadb_gateway.spec import SPEC as GATEWAY_SPEC

from spicadb_kit.events.provision import provision
from spicadb_kit.infra import NatsServer
from spicadb_kit.testing.services import migrate, role_dsn
from spicadb_kit.testing.tokens import TokenFactory

VEGA = {"name": "Vega", "ra": 279.2347, "dec": 38.7837}
VO = "{http://www.ivoa.net/xml/VOTable/v1.3}"


async def _gateway(admin_dsn: str, nats_url: str, tokens: TokenFactory, jwks: str, oifits_url: str, oidb_url: str
                   ) -> LocalServer:  # fmt: skip
    settings = GatewaySettings(
        environment="test",
        database_url=role_dsn(admin_dsn, GATEWAY_SPEC.role),
        nats_url=nats_url,
        token_issuer=tokens.issuer,
        token_audience=tokens.audience,
        jwks_url=jwks + "/.well-known/jwks.json",
        upstreams=f"oifits={oifits_url},oidb={oidb_url}",
        outbox_poll_seconds=0.2,
    )
    from spicadb_oidb.spec import SPEC as OIDB_SPEC
    from spicadb_oifits.spec import SPEC as OIFITS_SPEC

    app = create_gateway(settings, specs=[OIFITS_SPEC, OIDB_SPEC, GATEWAY_SPEC])
    return await LocalServer(app, proxy_headers=False).start()


async def test_a_push_through_the_gateway_reaches_the_oidb_table_linked_and_flags_follow(
    database: str, jetstream: JetStreamContext, nats_server: NatsServer, tokens: TokenFactory, tmp_path: Path
) -> None:
    programmes = ProgrammesService(database, nats_server.url, tokens, jetstream)
    nightlogs = NightLogsService(database, nats_server.url, tokens, jetstream)
    oifits_service = OifitsService(database, nats_server.url, tokens, jetstream, tmp_path / "store")
    oidb = OidbService(database, nats_server.url, tokens, jetstream)
    services = (programmes, nightlogs, oifits_service, oidb)
    for service in services:
        await service.install()
    await migrate(database, [GATEWAY_SPEC])
    await provision(jetstream, [AUTH_STAND_IN, GATEWAY_SPEC])
    servers: list[LocalServer] = []
    ada = programmes.auth("ada")
    try:
        jwks = await LocalServer(Jwks(tokens.jwks)).start()
        servers.append(jwks)
        oifits_app = oifits_service.create_app(oifits_service.settings(), verifier=tokens.verifier())
        oifits_server = await LocalServer(oifits_app).start()
        servers.append(oifits_server)
        oidb_server = await LocalServer(oidb.create_app(oidb.settings(), verifier=tokens.verifier())).start()
        servers.append(oidb_server)
        gateway = await _gateway(
            database, nats_server.url, tokens, jwks.url, oifits_server.url, oidb_server.url
        )
        servers.append(gateway)
        async with (
            programmes.running() as p,
            nightlogs.running() as n,
            httpx.AsyncClient(base_url=gateway.url, timeout=30) as edge,
        ):
            # the programme and its target; CHARA logs Vega that night
            assert (
                await p.post("/programmes/", json={"code": "LP-1", "title": "Giants"}, headers=ada)
            ).status_code == 201
            assert (await p.post("/programmes/LP-1/targets/", json=VEGA, headers=ada)).status_code == 201
            await eventually(lambda: nightlogs.scalar("SELECT count(*) FROM programme_target"))
            logged = await post_log(n, nightlogs, csv_log(line("Vega", 3.1)))
            assert logged.status_code == 201, logged.text
            (observation,) = logged.json()["added"]
            await eventually(lambda: oifits_service.scalar("SELECT count(*) FROM observation"))
            await eventually(lambda: oidb.scalar("SELECT count(*) FROM programme_rights"))

            # the DRS pushes the reduced file through the gateway with its robot token
            data = oifits(target="VEGA", ra=VEGA["ra"], dec=VEGA["dec"], at=(mjd_at(3.15),), programme="LP-1")
            drs = {
                "Authorization": "Bearer "
                + tokens.mint("oifits:push", "oifits:read", subject="drs", client_id="drs")
            }
            pushed = await edge.post("/oifits/files", params={"filename": "vega.fits"}, content=data,
                                     headers={**drs, "Content-Type": "application/fits"})  # fmt: skip
            assert pushed.status_code == 201, pushed.text
            (granule,) = pushed.json()["granules"]
            assert [o["observation_id"] for o in granule["observations"]] == [observation]

            # the OiDB view has it within seconds, linked to its observation, for members only
            member = {"Authorization": "Bearer " + tokens.mint("oifits:read", subject="ada")}
            stranger = {"Authorization": "Bearer " + tokens.mint("oifits:read", subject="bob")}

            async def listed(headers: dict[str, str]) -> list[dict[str, Any]]:
                answer = await edge.get("/oidb/granules", headers=headers)
                assert answer.status_code == 200, answer.text
                return list(answer.json()["items"])

            (row,) = await eventually(lambda: listed(member))
            assert row["target_name"] == "VEGA"
            assert row["access_url"].endswith(f"/oifits/files/{pushed.json()['id']}/content")
            assert await listed(stranger) == []
            assert await listed({}) == []
            (table,) = await oidb.fetch("SELECT * FROM oidb_granule")
            assert table["access_md5"] == pushed.json()["md5"]
            assert table["obs_release_date"] is not None

            # a flag on the observation reaches the granule's quality
            flagged = await n.post(f"/nightlogs/observations/{observation}/flags", json={"level": "bad"},
                                   headers=nightlogs.auth("nina", *FLAG))  # fmt: skip
            assert flagged.status_code == 201, flagged.text
            await eventually(lambda: _quality(oidb, 1))

            # DataLink: the granule leads to its observation, the observation back to the granule
            links = await edge.get("/oidb/links", params={"ID": granule["id"]}, headers=member)
            assert links.status_code == 200, links.text
            assert "#progenitor" in _semantics(links.text)
            back = await edge.get("/oidb/links", params={"ID": observation}, headers=member)
            assert "#derivation" in _semantics(back.text)

            # the file itself: members download it through the gateway, a stranger gets 404
            url = f"/oifits/files/{pushed.json()['id']}/content"
            assert (await edge.get(url, headers=member)).content == data
            assert (await edge.get(url, headers=stranger)).status_code == 404

            # a push whose connection drops halfway through the gateway leaves nothing behind
            stored = oifits_service.objects()
            other = oifits(target="Deneb", at=(mjd_at(3.5),))
            await _cut_off(gateway.port, drs["Authorization"], other)
            await eventually(lambda: _nothing_incoming(oifits_service))
            assert oifits_service.objects() == stored
            assert await oifits_service.scalar("SELECT count(*) FROM oifits_file") == 1
    finally:
        for server in reversed(servers):
            await server.stop()
        for service in services:
            await service.close()


async def _nothing_incoming(service: OifitsService) -> bool:
    return not service.incoming()


async def _cut_off(port: int, authorization: str, data: bytes) -> None:
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"POST /oifits/files?filename=cut.fits HTTP/1.1\r\nHost: x\r\nAuthorization: {authorization}\r\n"
        f"Content-Type: application/fits\r\nContent-Length: {len(data)}\r\n\r\n".encode()
        + data[: len(data) // 2]
    )
    await writer.drain()
    await asyncio.sleep(0.5)
    writer.close()
    await writer.wait_closed()


async def _quality(oidb: OidbService, level: int) -> bool:
    return bool(await oidb.scalar("SELECT quality_level FROM oidb_granule") == level)


def _semantics(votable: str) -> list[str]:
    root = ET.fromstring(votable)
    names = [f.get("name") for f in root.iter(f"{VO}FIELD")]
    column = names.index("semantics")
    return [row.findall(f"{VO}TD")[column].text or "" for row in root.iter(f"{VO}TR")]
