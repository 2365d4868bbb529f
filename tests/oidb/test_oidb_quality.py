"""The night logs' flags reach the granules reduced from the flagged observations: bad makes a granule
Trash (1), degraded Quick look (3) unless the DRS said worse, and a flag that came before the granule
still applies; links moved by the oifits service move the quality with them."""

from __future__ import annotations

import uuid

from harness import eventually
from oidb_support import OidbService, flag, granule, indexed, link, listing, push


async def quality(client, service: OidbService) -> dict[str, tuple[int, str]]:  # type: ignore[no-untyped-def]
    """target -> (quality_level, observation_quality) as the PI sees them."""
    items = await listing(client, service.auth("ada"))
    return {i["target_name"]: (i["quality_level"], i["observation_quality"]) for i in items}


async def test_flags_set_the_quality_level_of_linked_granules(service: OidbService) -> None:
    await service.programme("LP-1")
    vega, deneb, altair = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await push(service, indexed(
        granule("Vega", observations=[vega]),  # the DRS said nothing
        granule("Deneb", observations=[deneb], quality=5),  # outstanding, says the DRS
        granule("Altair", observations=[altair], quality=2),  # to be reduced again
        granule("Rigel", quality=4),  # from no observation
    ))  # fmt: skip
    async with service.running() as client:
        await eventually(service.drained, timeout=10)
        assert await quality(client, service) == {
            "Vega": (0, "unknown"), "Deneb": (5, "unknown"), "Altair": (2, "unknown"), "Rigel": (4, "unknown"),
        }  # fmt: skip
        await flag(service, vega, "degraded")
        await flag(service, deneb, "degraded")
        await flag(service, altair, "degraded")
        await eventually(service.drained, timeout=10)
        assert await quality(client, service) == {
            "Vega": (3, "degraded"), "Deneb": (3, "degraded"), "Altair": (2, "degraded"), "Rigel": (4, "unknown"),
        }  # fmt: skip
        await flag(service, vega, "bad")
        await flag(service, deneb, "good")
        await eventually(service.drained, timeout=10)
        levels = await quality(client, service)
        assert levels["Vega"] == (1, "bad")  # Trash
        assert levels["Deneb"] == (5, "good")  # back to the DRS's level


async def test_the_worst_observation_wins(service: OidbService) -> None:
    await service.programme("LP-1")
    first, second = uuid.uuid4(), uuid.uuid4()
    await push(service, indexed(granule("Vega", observations=[first, second], quality=4)))
    await flag(service, first, "good")
    await flag(service, second, "usable")
    async with service.running() as client:
        await eventually(service.drained, timeout=10)
        assert await quality(client, service) == {"Vega": (4, "usable")}
        await flag(service, second, "bad")
        await eventually(service.drained, timeout=10)
        assert await quality(client, service) == {"Vega": (1, "bad")}


async def test_a_flag_before_the_granule_still_applies(service: OidbService) -> None:
    await service.programme("LP-1")
    observation = uuid.uuid4()
    await flag(service, observation, "bad")
    async with service.running() as client:
        await eventually(service.drained, timeout=10)
        await push(service, indexed(granule("Vega", observations=[observation], quality=4)))
        await eventually(lambda: listing(client, service.auth("ada")), timeout=10)
        assert await quality(client, service) == {"Vega": (1, "bad")}


async def test_a_moved_link_moves_the_quality(service: OidbService) -> None:
    await service.programme("LP-1")
    bad, good = uuid.uuid4(), uuid.uuid4()
    await flag(service, bad, "bad")
    await flag(service, good, "good")
    g = granule("Vega", observations=[bad], quality=4)
    file = indexed(g)
    await push(service, file)
    async with service.running() as client:
        await eventually(service.drained, timeout=10)
        assert await quality(client, service) == {"Vega": (1, "bad")}
        # a corrected log: the granule came from the good observation only
        await link(service, file, g, [good])
        await eventually(service.drained, timeout=10)
        assert await quality(client, service) == {"Vega": (4, "good")}
        # a flag on the observation it no longer comes from changes nothing
        await flag(service, bad, "degraded")
        await eventually(service.drained, timeout=10)
        assert await quality(client, service) == {"Vega": (4, "good")}
