"""JetStream's snapshot and restore as the backups drive them: a stream larger than the server's
flow-control window (8 MiB) comes back with its sequences and its durable's acknowledgements, and what the
server refuses is a SnapshotError that says why."""

from __future__ import annotations

import os
from pathlib import Path

import nats
import pytest
from nats.js import JetStreamContext, api

from spicadb_kit.infra import NatsServer
from spicadb_kit.runtime.stream_snapshots import SnapshotError, restore_stream, snapshot_stream

pytestmark = pytest.mark.timeout(60)

MESSAGES = 120
# random, so the archive stays larger than the window once compressed
PAYLOAD = 100 * 1024


async def test_a_stream_larger_than_the_window_comes_back_with_its_consumer_state(
    jetstream: JetStreamContext, nats_server: NatsServer, tmp_path: Path
) -> None:
    await jetstream.add_stream(name="SNAP", subjects=["snap.>"])
    for i in range(MESSAGES):
        await jetstream.publish("snap.x", os.urandom(PAYLOAD), headers={"Nats-Msg-Id": f"m{i}"})
    durable = api.ConsumerConfig(durable_name="reader", ack_policy=api.AckPolicy.EXPLICIT)
    await jetstream.add_consumer("SNAP", durable)
    reader = await jetstream.pull_subscribe_bind("reader", "SNAP")
    for msg in await reader.fetch(40, timeout=5):
        await msg.ack_sync()
    await reader.unsubscribe()

    nc = await nats.connect(nats_server.url)
    try:
        answer, sha256, size = await snapshot_stream(nc, "SNAP", tmp_path / "SNAP.snapshot")
        assert size > 8 * 1024 * 1024  # past the server's window: flow control was answered
        assert answer["state"]["last_seq"] == MESSAGES
        await jetstream.delete_stream("SNAP")

        restored = await restore_stream(nc, answer["config"], answer["state"], tmp_path / "SNAP.snapshot")
        assert restored["state"]["messages"] == MESSAGES
        assert (await jetstream.get_msg("SNAP", MESSAGES)).headers == {"Nats-Msg-Id": f"m{MESSAGES - 1}"}
        consumer = await jetstream.consumer_info("SNAP", "reader")
        assert consumer.ack_floor.stream_seq == 40
        assert consumer.num_pending == MESSAGES - 40

        # the server's refusals, in its words
        with pytest.raises(SnapshotError, match="already"):
            await restore_stream(nc, answer["config"], answer["state"], tmp_path / "SNAP.snapshot")
        with pytest.raises(SnapshotError, match="not found"):
            await snapshot_stream(nc, "NONE", tmp_path / "NONE.snapshot")
    finally:
        await nc.close()
    assert len(sha256) == 64
