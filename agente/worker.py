"""The worker: claims inbox messages, runs the service on them, delivers the outbox.

One loop per process (``agente worker``, or inside ``agente serve`` by default). Each pass
claims up to ``concurrency`` messages, all from different conversations, and handles them
concurrently; then it sends due replies. A crash in the handler sends the message back for a
retry with backoff, and to the dead-letter table after the last attempt; the loop goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

import attrs
import structlog

from agente.errors import ChannelError, PermanentChannelError, UnknownHotel
from agente.messaging import LeaseLost
from agente.tracing import SpanKind, span

if TYPE_CHECKING:
    from agente.messaging import InboxItem, MessageStore, OutboxItem
    from agente.metrics import Metrics
    from agente.ports import Channel, Clock

__all__ = ["Notifier", "Worker", "worker_id"]

log = structlog.get_logger("agente.worker")

Handler = Callable[["InboxItem", str], Awaitable[None]]


def worker_id() -> str:
    """A name unique to this worker: host, process and a random suffix."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@attrs.define
class Notifier:
    """In-process wake-ups: new inbox work for the worker, sent replies for long polls."""

    work: asyncio.Event = attrs.field(factory=asyncio.Event)
    _sent: dict[str, asyncio.Event] = attrs.field(factory=dict)

    def wake_worker(self) -> None:
        self.work.set()

    def reply_sent(self, conversation_key: str) -> None:
        event = self._sent.pop(conversation_key, None)
        if event is not None:
            event.set()

    async def wait_reply(self, conversation_key: str, timeout: float) -> None:
        event = self._sent.setdefault(conversation_key, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)


@attrs.define
class Worker:
    messages: MessageStore
    handle: Handler
    channels: Mapping[str, Channel]
    clock: Clock
    metrics: Metrics
    notifier: Notifier = attrs.field(factory=Notifier)
    id: str = attrs.field(factory=worker_id)
    concurrency: int = 4
    poll_interval: float = 0.2
    #: queues the events of due timers (deposit holds); None: this worker fires none
    timers: Callable[[], Awaitable[int]] | None = None
    #: loops that run beside this worker until it stops: channels that fetch their own mail
    #: (a mailbox's IDLE and polling), each given the stop event
    background: list[Callable[[asyncio.Event], Awaitable[None]]] = attrs.field(factory=list)
    _passes: int = attrs.field(default=0, init=False)

    async def run_inbox_once(self) -> int:
        """Claim and handle one batch; returns how many messages were claimed."""
        items = await self.messages.claim_inbox(self.id, self.concurrency)
        if items:
            await asyncio.gather(*(self._handle_one(item) for item in items))
        return len(items)

    async def _handle_one(self, item: InboxItem) -> None:
        channel = item.message.channel
        bound = log.bind(
            inbox_id=item.id,
            channel=channel,
            hotel_id=item.message.hotel_id,
            correlation_id=item.message.correlation_id,
        )
        try:
            with (
                structlog.contextvars.bound_contextvars(
                    correlation_id=item.message.correlation_id
                ),
                span(
                    "worker.handle_message",
                    parent=item.message.trace_parent,
                    attributes={"messaging.system": channel, "agente.inbox_id": item.id,
                       "agente.correlation_id": item.message.correlation_id,
                       "agente.hotel_id": item.message.hotel_id},
                ),
            ):  # fmt: skip
                await self.handle(item, self.id)
        except LeaseLost:
            bound.warning("lease_lost")
            self.metrics.messages_processed.labels(channel, "lost").inc()
            return
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            if isinstance(exc, UnknownHotel):
                item = attrs.evolve(item, attempts=self.messages.settings.inbox_max_attempts)
            outcome = await self.messages.fail_inbox(item, self.id, error)
            bound.error("message_failed", outcome=outcome, attempts=item.attempts, error=error)
            self.metrics.messages_processed.labels(channel, outcome).inc()
            if outcome == "dead":
                # a message the dialogue never finished spends the SLO's error budget (counted
                # once, when it gives up: a retry that succeeds is one message, not an error)
                self.metrics.orchestrator_messages.labels("unhandled", "error").inc()
            return
        self.metrics.messages_processed.labels(channel, "done").inc()
        bound.info("message_handled", attempts=item.attempts)

    async def run_outbox_once(self) -> int:
        items = await self.messages.claim_outbox(self.id, self.concurrency * 2)
        if items:
            await asyncio.gather(*(self._send_one(item) for item in items))
        return len(items)

    async def _send_one(self, item: OutboxItem) -> None:
        name = item.message.channel
        bound = log.bind(
            outbox_id=item.id, channel=name, correlation_id=item.message.correlation_id
        )
        channel = self.channels.get(name)
        try:
            if channel is None:
                raise PermanentChannelError(f"channel {name!r} is not enabled here")
            with span(
                "channel.send", kind=SpanKind.CLIENT, parent=item.message.trace_parent,
                attributes={"messaging.system": name, "agente.outbox_id": item.id,
                   "agente.correlation_id": item.message.correlation_id},
            ):  # fmt: skip
                provider_id = await channel.send(item.message)
        except ChannelError as exc:
            permanent = isinstance(exc, PermanentChannelError)
            outcome = await self.messages.fail_outbox(
                item,
                self.id,
                f"{type(exc).__name__}: {exc}",
                permanent=permanent,
                retry_after=exc.retry_after,
            )
            bound.warning("reply_failed", outcome=outcome, attempts=item.attempts, error=str(exc))
            self.metrics.replies_sent.labels(name, outcome).inc()
            return
        except Exception as exc:
            outcome = await self.messages.fail_outbox(item, self.id, f"{type(exc).__name__}: {exc}")
            bound.error("reply_crashed", outcome=outcome, error=repr(exc))
            self.metrics.replies_sent.labels(name, outcome).inc()
            return
        if await self.messages.mark_sent(item, self.id, provider_id):
            bound.info("reply_sent", provider_message_id=provider_id)
            self.metrics.replies_sent.labels(name, "sent").inc()
            self.notifier.reply_sent(f"{item.message.hotel_id}:{name}:{item.message.recipient_id}")
        else:
            self.metrics.replies_sent.labels(name, "lost").inc()

    async def run_once(self) -> int:
        """One pass over both queues (and, now and then, the reaper)."""
        self._passes += 1
        if self._passes % 50 == 1:
            await self.messages.reap_inbox()
        if self.timers is not None and self._passes % 5 == 1:
            await self.timers()
        return await self.run_inbox_once() + await self.run_outbox_once()

    async def run(self, stop: asyncio.Event) -> None:
        """Loop until ``stop`` is set; database hiccups are logged and waited out."""
        log.info("worker_started", worker=self.id, concurrency=self.concurrency)
        tasks = [asyncio.ensure_future(loop(stop)) for loop in self.background]
        try:
            await self._loop(stop)
        finally:
            stop.set()
            if tasks:
                _, pending = await asyncio.wait(tasks, timeout=10)
                for task in pending:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        log.info("worker_stopped", worker=self.id)

    async def _loop(self, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            try:
                done = await self.run_once()
                failures = 0
            except Exception as exc:
                failures += 1
                log.error("worker_pass_failed", error=repr(exc), failures=failures)
                done = 0
                await asyncio.sleep(min(30.0, self.poll_interval * 2**failures))
            if done:
                continue
            self.notifier.work.clear()
            waiter = asyncio.ensure_future(self.notifier.work.wait())
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait(
                {waiter, stopper}, timeout=self.poll_interval, return_when=asyncio.FIRST_COMPLETED
            )
            waiter.cancel()
            stopper.cancel()
