"""The durable message path on real SQLite and PostgreSQL: accept, claim, lease, outbox."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import attrs
import sqlalchemy as sa

from agente.adapters.sql import dead_letters, inbox, outbox
from agente.domain import InboundMessage
from agente.messaging import LeaseLost
from agente.testing import FakeChannel, FrozenClock


def msg(
    n: int, sender: str = "guest-1", *, pid: str | None = None, text: str = "hola"
) -> InboundMessage:
    return InboundMessage(
        channel="webchat",
        provider_message_id=pid or f"{sender}:{n}",
        hotel_id="demo",
        sender_id=sender,
        text=text,
    )


async def rows(deps: Any, table: sa.Table, *where: Any) -> list[Any]:
    async with deps.db.begin() as conn:
        return list(await conn.execute(sa.select(table).where(*where).order_by(table.c.id)))


def with_channel(deps: Any, channel: FakeChannel) -> Any:
    return attrs.evolve(deps, channels={"webchat": channel})


async def drain(worker: Any, rounds: int = 50) -> None:
    for _ in range(rounds):
        if await worker.run_once() == 0:
            return


async def test_same_provider_id_ten_times_concurrently_gives_one_row_and_one_reply(
    db_url: str, make_deps: Any
) -> None:
    deps = await make_deps(db_url)
    channel = FakeChannel()
    deps = with_channel(deps, channel)
    results = await asyncio.gather(*(deps.ingress.accept([msg(1, pid="dup-1")]) for _ in range(10)))
    assert sum(len(r.accepted) for r in results) == 1
    assert sum(r.duplicates for r in results) == 9
    await drain(deps.worker())
    assert len(await rows(deps, inbox)) == 1
    assert len(await rows(deps, outbox)) == 1
    assert len(channel.sent) == 1
    # a late re-delivery after processing is still recognised
    assert (await deps.ingress.accept([msg(1, pid="dup-1")])).duplicates == 1
    await drain(deps.worker())
    assert len(channel.sent) == 1


async def test_batch_accept_keeps_new_and_skips_known(db_url: str, make_deps: Any) -> None:
    deps = await make_deps(db_url)
    first = await deps.ingress.accept([msg(1), msg(2)])
    second = await deps.ingress.accept([msg(2), msg(3), msg(3, pid="guest-1:3")])
    assert len(first.accepted) == 2
    assert len(second.accepted) == 1 and second.duplicates == 2


async def test_two_workers_keep_each_conversation_in_order_and_one_at_a_time(
    db_url: str, make_deps: Any
) -> None:
    deps = await make_deps(db_url, AGENTE_WORKER_CONCURRENCY="3")
    channel = FakeChannel()
    deps = with_channel(deps, channel)
    senders = [f"guest-{i}" for i in range(6)]
    for n in range(8):
        await deps.ingress.accept([msg(n, s) for s in senders])

    seen: dict[str, list[int]] = {s: [] for s in senders}
    in_flight: set[str] = set()
    overlaps: list[str] = []
    rng = random.Random(7)

    async def handle(item: Any, worker_id: str) -> None:
        key = item.message.sender_id
        if key in in_flight:
            overlaps.append(key)
        in_flight.add(key)
        await asyncio.sleep(rng.uniform(0, 0.005))
        seen[key].append(int(item.message.provider_message_id.split(":")[1]))
        in_flight.discard(key)
        await deps.service.handle(item, worker_id)

    workers = [attrs.evolve(deps.worker(), handle=handle, id=f"w{i}") for i in range(2)]

    async def run(worker: Any) -> None:
        for _ in range(200):
            if await worker.run_once() == 0 and all(len(v) == 8 for v in seen.values()):
                return

    await asyncio.gather(*(run(w) for w in workers))
    assert overlaps == []
    assert all(order == list(range(8)) for order in seen.values()), seen
    by_sender: dict[str, list[str]] = {}
    for sent in channel.sent:
        by_sender.setdefault(sent.recipient_id, []).append(sent.in_reply_to or "")
    assert all(
        [int(p.split(":")[1]) for p in replies] == list(range(8)) for replies in by_sender.values()
    )


async def test_worker_killed_mid_message_is_redone_once_after_the_lease(
    db_url: str, make_deps: Any, clock: FrozenClock
) -> None:
    deps = await make_deps(db_url, AGENTE_LEASE_SECONDS="30")
    channel = FakeChannel()
    deps = with_channel(deps, channel)
    await deps.ingress.accept([msg(1), msg(2)])
    dead = attrs.evolve(deps.worker(), id="dies")
    claimed = await deps.messages.claim_inbox(dead.id, 5)
    assert [c.message.provider_message_id for c in claimed] == ["guest-1:1"]

    survivor = attrs.evolve(deps.worker(), id="survives")
    assert await survivor.run_inbox_once() == 0, "the lease still holds, and it blocks message 2"
    clock.advance(31)
    await drain(survivor)
    assert [m.in_reply_to for m in channel.sent] == ["guest-1:1", "guest-1:2"]
    done = await rows(deps, inbox)
    assert [r.status for r in done] == ["done", "done"]
    assert done[0].attempts == 2

    # the "dead" worker wakes up and tries to finish: fenced out, nothing duplicated
    try:
        await deps.service.handle(claimed[0], dead.id)
    except LeaseLost:
        pass
    else:
        raise AssertionError("a worker whose lease expired must not commit")
    await drain(survivor)
    assert len(channel.sent) == 2
    assert len(await rows(deps, outbox)) == 2


async def test_last_attempt_lost_to_a_dead_worker_goes_to_dead_letters(
    db_url: str, make_deps: Any, clock: FrozenClock
) -> None:
    deps = await make_deps(db_url, AGENTE_INBOX_MAX_ATTEMPTS="2", AGENTE_LEASE_SECONDS="10")
    deps = with_channel(deps, FakeChannel())
    await deps.ingress.accept([msg(1)])
    for attempt in range(2):
        assert len(await deps.messages.claim_inbox(f"dies-{attempt}", 1)) == 1
        clock.advance(11)
    assert await deps.messages.reap_inbox() == 1
    letters = await rows(deps, dead_letters)
    assert [(d.source, d.attempts) for d in letters] == [("inbox", 2)]
    assert "lease expired" in letters[0].error


async def test_handler_crash_retries_then_dead_letters_and_the_worker_goes_on(
    db_url: str, make_deps: Any, clock: FrozenClock
) -> None:
    deps = await make_deps(db_url, AGENTE_INBOX_MAX_ATTEMPTS="3")
    channel = FakeChannel()
    deps = with_channel(deps, channel)
    await deps.ingress.accept([msg(1, text="boom"), msg(2, text="after"), msg(1, "other")])

    async def handle(item: Any, worker_id: str) -> None:
        if item.message.text == "boom":
            raise RuntimeError("handler exploded")
        await deps.service.handle(item, worker_id)

    worker = attrs.evolve(deps.worker(), handle=handle)
    for _ in range(10):
        await worker.run_once()
        clock.advance(600)
    state = {r.provider_message_id: (r.status, r.attempts) for r in await rows(deps, inbox)}
    assert state == {"guest-1:1": ("dead", 3), "guest-1:2": ("done", 1), "other:1": ("done", 1)}
    letters = await rows(deps, dead_letters)
    assert len(letters) == 1 and "handler exploded" in letters[0].error
    assert letters[0].payload["text"] == "boom"
    assert sorted(m.in_reply_to for m in channel.sent) == ["guest-1:2", "other:1"]


async def test_outbox_retries_with_backoff_then_succeeds(
    db_url: str, make_deps: Any, clock: FrozenClock
) -> None:
    deps = await make_deps(db_url, AGENTE_OUTBOX_BACKOFF_BASE="2")
    channel = FakeChannel(fail_next=2)
    deps = with_channel(deps, channel)
    await deps.ingress.accept([msg(1)])
    worker = deps.worker()
    await worker.run_once()  # handles the message; first send fails
    row = (await rows(deps, outbox))[0]
    assert (row.status, row.attempts) == ("pending", 1)
    delay = (row.next_attempt_at - clock.now()).total_seconds()
    assert 1.0 <= delay <= 2.0
    assert await worker.run_outbox_once() == 0, "not due before the backoff"
    clock.advance(2)
    await worker.run_outbox_once()  # second failure
    row = (await rows(deps, outbox))[0]
    delay = (row.next_attempt_at - clock.now()).total_seconds()
    assert row.attempts == 2 and 2.0 <= delay <= 4.0
    clock.advance(4)
    await worker.run_outbox_once()
    row = (await rows(deps, outbox))[0]
    assert (row.status, row.attempts, len(channel.sent)) == ("sent", 3, 1)
    assert row.provider_message_id == "fake-1"


async def test_outbox_dead_letters_after_the_last_retry(
    db_url: str, make_deps: Any, clock: FrozenClock
) -> None:
    deps = await make_deps(db_url, AGENTE_OUTBOX_MAX_ATTEMPTS="4")
    channel = FakeChannel(fail_next=100)
    deps = with_channel(deps, channel)
    await deps.ingress.accept([msg(1), msg(2)])
    worker = deps.worker()
    for _ in range(12):
        await worker.run_once()
        clock.advance(3600)
    out = await rows(deps, outbox)
    assert [(r.status, r.attempts) for r in out] == [("dead", 4), ("dead", 4)]
    letters = await rows(deps, dead_letters, dead_letters.c.source == "outbox")
    assert len(letters) == 2 and "injected failure" in letters[0].error
    assert channel.failures == 8


async def test_permanent_channel_error_dead_letters_at_once(db_url: str, make_deps: Any) -> None:
    deps = await make_deps(db_url)
    deps = with_channel(deps, FakeChannel(fail_next=1, permanent=True))
    await deps.ingress.accept([msg(1)])
    await deps.worker().run_once()
    out = await rows(deps, outbox)
    assert [(r.status, r.attempts) for r in out] == [("dead", 1)]


async def test_message_for_unknown_hotel_is_dead_lettered_without_retries(
    db_url: str, make_deps: Any
) -> None:
    deps = await make_deps(db_url)
    deps = with_channel(deps, FakeChannel())
    stray = InboundMessage(
        channel="webchat", provider_message_id="x", hotel_id="nowhere", sender_id="s"
    )
    await deps.ingress.accept([stray])
    await deps.worker().run_once()
    letters = await rows(deps, dead_letters)
    assert len(letters) == 1 and "UnknownHotel" in letters[0].error


async def test_conversation_state_and_guest_are_stored(db_url: str, make_deps: Any) -> None:
    from agente.adapters.sql import conversations, guests

    deps = await make_deps(db_url)
    deps = with_channel(deps, FakeChannel())
    await deps.ingress.accept([msg(1), msg(2)])
    await drain(deps.worker())
    conv = await rows(deps, conversations)
    assert len(conv) == 1 and conv[0].state["turns"] == 2
    assert len(await rows(deps, guests)) == 1


async def test_depths_report_backlog(db_url: str, make_deps: Any, clock: FrozenClock) -> None:
    deps = await make_deps(db_url)
    await deps.ingress.accept([msg(1), msg(1, "b")])
    clock.advance(5)
    depths = await deps.messages.depths()
    assert depths["inbox_depth"] == 2
    assert depths["inbox_oldest_age_seconds"] == 5
    assert depths["outbox_depth"] == 0


async def test_old_owner_cannot_finish_while_the_new_owner_holds_the_lease(
    db_url: str, make_deps: Any, clock: FrozenClock
) -> None:
    deps = await make_deps(db_url, AGENTE_LEASE_SECONDS="30")
    channel = FakeChannel()
    deps = with_channel(deps, channel)
    await deps.ingress.accept([msg(1)])
    (old,) = await deps.messages.claim_inbox("old", 1)
    clock.advance(31)
    (new,) = await deps.messages.claim_inbox("new", 1)
    assert new.id == old.id and new.attempts == 2
    try:
        await deps.service.handle(old, "old")
    except LeaseLost:
        pass
    else:
        raise AssertionError("the old owner committed over the new owner's lease")
    await deps.service.handle(new, "new")
    await drain(deps.worker())
    assert len(channel.sent) == 1
    assert len(await rows(deps, outbox)) == 1
