"""The ``agente`` command.

agente serve      the HTTP service (Granian) with its own worker, on the embedded default
agente worker     worker processes for production (PostgreSQL)
agente chat       talk to the agent in the terminal (``--jsonl`` for scripts)
agente plugins    installed and enabled plugins, with versions
agente migrate    apply (or roll back) database migrations
agente hotels     seed and list hotels
agente reservations  list reservations; confirm a deposit (staff): PMS payment, voucher
agente handoff    staff notifications; take over or release a conversation
agente journeys   play scripted conversations and check what comes back
agente pms-check  run the PMS conformance kit against a plugin and its live PMS
agente admin      admin API keys for the dashboard and the admin API
agente settings   the settings in force, secrets masked
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import msgspec

from agente.errors import AgenteError

__all__ = ["main"]


def _fail(message: str, code: int = 2) -> int:
    print(f"agente: {message}", file=sys.stderr)
    return code


def _env(overrides: Mapping[str, str | None] | None = None) -> dict[str, str]:
    from agente.settings import read_environment

    env = read_environment()
    for key, value in (overrides or {}).items():
        if value is not None:
            env[key] = value
    return env


async def _prepare(env: Mapping[str, str], *, quiet: bool = False) -> Any:
    """Build deps, migrate and seed when ``AGENTE_AUTO_MIGRATE`` is on."""
    from agente.deps import build_deps
    from agente.hotels import load_hotels_file, seed_hotels
    from agente.migrate import upgrade
    from agente.settings import load_settings

    settings = load_settings(env)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    deps = build_deps(settings, env)
    for warning in deps.warnings:
        print(f"agente: warning: {warning}", file=sys.stderr)
    if settings.auto_migrate:
        await upgrade(settings.database_url)
        hotels = load_hotels_file(settings.hotels_file)
        written = await seed_hotels(deps.db, hotels, deps.clock)
        if written and not quiet:
            print(f"agente: seeded hotels: {', '.join(written)}", file=sys.stderr)
    return deps


# ---------------------------------------------------------------------------- serve


def _multiprocess_metrics() -> None:
    """Several Granian workers: prometheus-client's multiprocess mode, so a scrape answered by
    any worker adds up every worker's values. It must be set before prometheus_client is first
    imported (the workers inherit it). ``PROMETHEUS_MULTIPROC_DIR`` may name the directory;
    either way it is emptied at start, as prometheus-client requires."""
    import tempfile
    from pathlib import Path

    if "prometheus_client.values" in sys.modules:  # pragma: no cover - a programming error
        raise RuntimeError("prometheus_client was imported before multiprocess mode was set")
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(
        prefix="agente-metrics-"
    )
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory


def cmd_serve(args: argparse.Namespace) -> int:
    from agente.logs import configure

    overrides = {
        "AGENTE_HOST": args.host,
        "AGENTE_PORT": str(args.port) if args.port else None,
        "AGENTE_WORKERS": str(args.workers) if args.workers else None,
    }
    env = _env(overrides)
    from agente.settings import load_settings, redact_url

    settings = load_settings(env)
    configure(settings.log_level, settings.log_format)
    if settings.workers > 1:
        _multiprocess_metrics()

    async def _check() -> Any:
        deps = await _prepare(env)
        hotel = await deps.hotels.get(settings.default_hotel)
        await deps.close()
        return hotel

    hotel = asyncio.run(_check())
    for key, value in overrides.items():  # Granian's worker processes read the environment
        if value is not None:
            os.environ[key] = value
    os.environ["AGENTE_AUTO_MIGRATE"] = "false"
    host = "localhost" if settings.host in ("0.0.0.0", "127.0.0.1", "::") else settings.host  # noqa: S104
    print(
        f"Agente is starting on {redact_url(settings.database_url)} "
        f"with {settings.workers} worker process(es).",
        file=sys.stderr,
    )
    if hotel is not None and "webchat" in settings.channels:
        print(
            f"Open http://{host}:{settings.port}/ to chat with {hotel.name} as a guest.",
            file=sys.stderr,
        )
    from granian import Granian
    from granian.constants import Interfaces

    Granian(
        "agente.app:create_app",
        factory=True,
        interface=Interfaces.ASGI,
        address=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_access=False,
    ).serve()
    return 0


# ---------------------------------------------------------------------------- worker


def cmd_worker(args: argparse.Namespace) -> int:
    from agente.logs import configure
    from agente.settings import load_settings

    env = _env({
        "AGENTE_WORKER_CONCURRENCY": str(args.concurrency) if args.concurrency else None,
        "AGENTE_WORKER_METRICS_PORT": None if args.metrics_port is None else str(args.metrics_port),
    })  # fmt: skip
    settings = load_settings(env)
    configure(settings.log_level, settings.log_format)

    async def _run() -> None:
        from agente import tracing

        deps = await _prepare(env)
        tracing.setup(env, service_name="agente-worker")
        if settings.worker_metrics_port:
            from prometheus_client import start_http_server

            start_http_server(
                settings.worker_metrics_port, addr=settings.host, registry=deps.metrics.registry
            )
            print(f"Worker metrics on http://{settings.host}:{settings.worker_metrics_port}/metrics",
                  file=sys.stderr)  # fmt: skip
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await deps.worker().run(stop)
        finally:
            await deps.close()
            tracing.shutdown()

    asyncio.run(_run())
    return 0


# ---------------------------------------------------------------------------- chat


async def _wait_handled(deps: Any, inbox_id: int, timeout: float) -> tuple[Any, list[Any], bool]:
    """Poll until inbox row ``inbox_id`` is done (and its replies sent) or dead, or ``timeout``.

    Returns the inbox row (status, result, last_error), its outbox rows and whether it settled.
    """
    import sqlalchemy as sa

    from agente.adapters.sql import inbox, outbox

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        async with deps.db.begin() as conn:
            row = (
                await conn.execute(
                    sa.select(inbox.c.status, inbox.c.result, inbox.c.last_error).where(
                        inbox.c.id == inbox_id
                    )
                )
            ).one()
            replies = (
                await conn.execute(
                    sa.select(outbox.c.message, outbox.c.status)
                    .where(outbox.c.inbox_id == inbox_id)
                    .order_by(outbox.c.id)
                )
            ).all()
        settled = row.status == "dead" or (
            row.status == "done" and all(r.status not in ("pending", "sending") for r in replies)
        )
        if settled or loop.time() > deadline:
            return row, replies, settled
        await asyncio.sleep(0.02)


async def _turn(
    deps: Any, hotel_id: str, session: str, text: str, timeout: float
) -> dict[str, Any]:
    """Send one guest message through the real path and wait for its replies."""

    from agente.domain import InboundMessage
    from agente.service import load_conversation, reservation_view

    message = InboundMessage(
        channel="webchat",
        provider_message_id=f"{session}:{uuid.uuid4().hex}",
        hotel_id=hotel_id,
        sender_id=session,
        text=text,
    )
    result = await deps.ingress.accept([message])
    inbox_id = result.accepted[0]
    row, replies, settled = await _wait_handled(deps, inbox_id, timeout)
    async with deps.db.begin() as conn:
        _, state = await load_conversation(conn, hotel_id, "webchat", session)
    out: dict[str, Any] = {
        "guest": text,
        "intent": (row.result or {}).get("intent"),
        "replies": [{**r.message["body"], "status": r.status} for r in replies],
        "conversation": msgspec.to_builtins(state),
        "reservation": reservation_view(state.reservation),
    }
    if row.status == "dead":
        out["error"] = row.last_error
    elif not settled:
        out["error"] = f"no reply within {timeout:g} s"
    return out


def _reply_text(body: dict[str, Any]) -> str:
    kind = body.get("type")
    text = body.get("text") or body.get("caption") or ""
    if kind == "buttons":
        text += "".join(f"\n  [{i}] {b['title']}" for i, b in enumerate(body["buttons"], 1))
    elif kind == "list":
        rows = [r for s in body["sections"] for r in s["rows"]]
        text += "".join(f"\n  {i}. {r['title']}" for i, r in enumerate(rows, 1))
    elif kind == "location":
        text = f"📍 {body.get('name') or ''} {body.get('address') or ''} ({body['latitude']}, {body['longitude']})"
    elif kind in ("image", "document"):
        text = f"[{kind}: {body['media'].get('filename') or body['media'].get('url')}] {text}"
    return text.strip()


def cmd_chat(args: argparse.Namespace) -> int:
    from agente.logs import configure
    from agente.settings import load_settings

    env = _env()
    env.setdefault("AGENTE_LOG_LEVEL", "WARNING")
    settings = load_settings(env)
    configure(settings.log_level, "console" if sys.stderr.isatty() else "json")

    async def _run() -> int:
        deps = await _prepare(env, quiet=args.jsonl)
        hotel_id = args.hotel or settings.default_hotel
        hotel = await deps.hotels.get(hotel_id)
        if hotel is None:
            await deps.close()
            return _fail(f"no hotel {hotel_id!r}; see 'agente hotels list'")
        session = args.session or f"cli-{uuid.uuid4().hex[:12]}"
        stop = asyncio.Event()
        worker = asyncio.create_task(deps.worker().run(stop))
        loop = asyncio.get_running_loop()
        try:
            if not args.jsonl:
                print(f"Chatting with {hotel.name} as a guest (session {session}).")
                print("Write a message and press Enter; Ctrl-D or /quit to leave.\n")
            while True:
                if not args.jsonl:
                    print("you> ", end="", flush=True)
                line = await loop.run_in_executor(None, sys.stdin.readline)
                if not line:
                    break
                text = line.rstrip("\n")
                if not text.strip():
                    continue
                if text.strip() in ("/quit", "/exit"):
                    break
                turn = await _turn(deps, hotel.id, session, text, args.timeout)
                if args.jsonl:
                    print(json.dumps(turn, ensure_ascii=False), flush=True)
                else:
                    for reply in turn["replies"]:
                        print(f"{hotel.name}> {_reply_text(reply)}")
                    if "error" in turn:
                        print(f"(agente: {turn['error']})")
        finally:
            stop.set()
            await worker
            await deps.close()
        return 0

    return asyncio.run(_run())


# ---------------------------------------------------------------------------- staff


async def _settle(deps: Any, inbox_id: int | None, timeout: float) -> dict[str, Any]:
    """Run a worker until the queued event is handled (or ``timeout``); its result."""
    if inbox_id is None:
        return {"queued": False, "note": "the same action was already queued"}
    stop = asyncio.Event()
    worker = asyncio.create_task(deps.worker().run(stop))
    try:
        row, _, settled = await _wait_handled(deps, inbox_id, timeout)
        if not settled:
            return {"queued": True, "status": row.status, "note": "still being processed"}
    finally:
        stop.set()
        await worker
    out = {"queued": True, "status": row.status, "result": row.result}
    if row.status == "dead":
        out["error"] = row.last_error
    return out


def _staff(args: argparse.Namespace, action: Callable[[Any], Awaitable[Any]]) -> int:
    from agente.logs import configure
    from agente.settings import load_settings

    env = _env()
    env.setdefault("AGENTE_LOG_LEVEL", "WARNING")
    settings = load_settings(env)
    configure(settings.log_level, "json")

    async def _run() -> int:
        deps = await _prepare(env, quiet=True)
        try:
            out = await action(deps)
        finally:
            await deps.close()
        print(json.dumps(out, ensure_ascii=False, indent=2, default=str))
        return 1 if isinstance(out, dict) and out.get("error") else 0

    return asyncio.run(_run())


def cmd_reservations(args: argparse.Namespace) -> int:
    from decimal import Decimal

    from agente import staff

    async def action(deps: Any) -> Any:
        if args.action == "list":
            return await staff.list_reservations(deps.db, args.hotel, args.status)
        if not args.reference:
            raise staff.StaffError("give the reservation: its booking number or AG- reference")
        amount = Decimal(args.amount) if args.amount else None
        inbox_id = await staff.confirm_deposit(
            deps.db, deps.messages, args.reference, operator=args.operator, amount=amount
        )
        return await _settle(deps, inbox_id, args.timeout)

    return _staff(args, action)


def cmd_handoff(args: argparse.Namespace) -> int:
    from agente import staff

    async def action(deps: Any) -> Any:
        if args.action == "notifications":
            return await staff.list_notifications(deps.db, args.hotel, unseen=not args.all)
        if args.conversation is None:
            raise staff.StaffError("give the conversation id (see 'agente handoff notifications')")
        act = staff.take_over if args.action == "take" else staff.release
        inbox_id = await act(
            deps.db, deps.messages, deps.clock, args.conversation, operator=args.operator
        )
        return await _settle(deps, inbox_id, args.timeout)

    return _staff(args, action)


# ---------------------------------------------------------------------------- journeys


def cmd_journeys(args: argparse.Namespace) -> int:
    import tempfile
    from pathlib import Path

    from agente.journeys import load_journeys, run_journey, summary
    from agente.logs import configure

    configure("ERROR", "json")
    logging.getLogger("alembic").setLevel(logging.WARNING)

    async def _run() -> int:
        results = []
        with tempfile.TemporaryDirectory() as tmp:
            n = 0
            for file in args.files:
                for journey in load_journeys(file):
                    if args.match and args.match not in journey.name:
                        continue
                    n += 1
                    url = f"sqlite+aiosqlite:///{Path(tmp) / f'{n}.db'}"
                    result = await run_journey(journey, url)
                    results.append(result)
                    mark = "ok  " if result.ok else "FAIL"
                    print(f"{mark} {journey.name}", flush=True)
                    for failure in result.failures:
                        print(f"       {failure}")
        figures = summary(results)
        print(
            f"{figures['passed']}/{figures['journeys']} passed; "
            f"{figures['without_handoff']} without a handoff; "
            f"p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms per turn"
        )
        return 0 if figures["passed"] == figures["journeys"] else 1

    return asyncio.run(_run())


# ---------------------------------------------------------------------------- admin


def cmd_admin(args: argparse.Namespace) -> int:
    from agente.admin.keys import KeyStore

    async def action(deps: Any) -> Any:
        keys = KeyStore(db=deps.db, clock=deps.clock)
        if args.action == "create-key":
            if not args.all and not args.hotel:
                raise AgenteError("say which hotel the key is for (--hotel ID) or --all")
            if args.hotel and await deps.hotels.get(args.hotel) is None:
                raise AgenteError(f"no hotel {args.hotel!r}; see 'agente hotels list'")
            key_id, key = await keys.create(
                role=args.role, hotel_id=None if args.all else args.hotel, label=args.label
            )
            print(
                f"agente: key {key_id} ({args.role}, "
                f"{'every hotel' if args.all else 'hotel ' + args.hotel}). It is shown once: "
                "keep it now.",
                file=sys.stderr,
            )
            return {"id": key_id, "key": key}
        if args.action == "keys":
            return await keys.list()
        if not args.key_id:
            raise AgenteError("give the key id to revoke (see 'agente admin keys')")
        if not await keys.revoke(args.key_id):
            raise AgenteError(f"no active key {args.key_id!r}")
        return {"revoked": args.key_id}

    return _staff(args, action)


# ---------------------------------------------------------------------------- pms-check


def cmd_pms_check(args: argparse.Namespace) -> int:
    from agente.pms_kit import run_args

    return run_args(args)


# ---------------------------------------------------------------------------- plugins


def cmd_plugins(args: argparse.Namespace) -> int:
    from agente.registry import CHANNELS, PMS, discover
    from agente.settings import load_settings

    settings = load_settings(_env())
    enabled = {CHANNELS: settings.channels, PMS: settings.pms}
    rows = []
    for group in (CHANNELS, PMS):
        found = discover(group)
        names = [i.name for i in found]
        for item in found:
            state = "enabled" if item.name in enabled[group] else "installed"
            if names.count(item.name) > 1:
                state += " (DUPLICATE)"
            rows.append((group, item.name, item.distribution, item.version, state))
        for name in enabled[group]:
            if name not in names:
                rows.append((group, name, "-", "-", "enabled, NOT INSTALLED"))
    if args.json:
        print(
            json.dumps(
                [
                    dict(zip(("group", "name", "distribution", "version", "state"), r, strict=True))
                    for r in rows
                ],
                indent=2,
            )
        )
        return 0
    widths = [
        max(len(r[i]) for r in [*rows, ("group", "name", "distribution", "version", "state")])
        for i in range(5)
    ]
    header = ("GROUP", "NAME", "DISTRIBUTION", "VERSION", "STATE")
    for row in [header, *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return 0


# ---------------------------------------------------------------------------- migrate, hotels, settings


def cmd_migrate(args: argparse.Namespace) -> int:
    from agente.migrate import current, downgrade, upgrade
    from agente.settings import load_settings, redact_url

    settings = load_settings(_env())
    url = settings.database_url
    if args.action == "upgrade":
        asyncio.run(upgrade(url, args.revision or "head"))
    elif args.action == "downgrade":
        if not args.revision:
            return _fail("downgrade needs a revision (e.g. 'base' or '-1')")
        asyncio.run(downgrade(url, args.revision))
    print(f"{redact_url(url)}: at revision {asyncio.run(current(url)) or 'base (empty)'}")
    return 0


# ---------------------------------------------------------------------------- backups


def _backup_target(settings: Any, where: str | None) -> Any:
    from agente.backup import destination

    return destination(where or settings.backup_to, endpoint_url=settings.backup_s3_endpoint_url,
                       region=settings.backup_s3_region)  # fmt: skip


def cmd_backup(args: argparse.Namespace) -> int:
    from agente.backup import as_json, backup, describe_result
    from agente.settings import load_settings

    settings = load_settings(_env())
    result = asyncio.run(
        backup(settings.database_url, _backup_target(settings, args.to),
               keep_daily=settings.backup_keep_daily, keep_weekly=settings.backup_keep_weekly,
               max_age_days=settings.backup_max_age_days)
    )  # fmt: skip
    print(as_json(result) if args.json else describe_result(result))
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from pathlib import Path

    from agente.backup import LocalDestination, as_json, describe_restore, restore
    from agente.settings import load_settings, redact_url

    settings = load_settings(_env())
    name, folder = args.name, None
    if name and Path(name).is_file():  # a path to the archive itself
        path = Path(name)
        source: Any = LocalDestination(path.parent)
        name, folder = path.name, ""
    else:
        source = _backup_target(settings, args.source)
    result = asyncio.run(restore(settings.database_url, source, name, folder=folder,
                                 force=args.force))  # fmt: skip
    print(as_json(result) if args.json else describe_restore(result))
    if not result.complete:
        return _fail(f"{redact_url(settings.database_url)}: rows are missing after the restore", 1)
    print(f"{redact_url(settings.database_url)} is ready: start the service", file=sys.stderr)
    return 0


def cmd_maintenance(args: argparse.Namespace) -> int:
    from agente.deps import build_deps
    from agente.maintenance import run_maintenance
    from agente.settings import load_settings

    env = _env()
    settings = load_settings(env)

    async def _run() -> Any:
        deps = build_deps(settings, env)
        try:
            return await run_maintenance(deps.db, deps.messages, deps.clock, settings,
                                         dry_run=args.dry_run, vacuum=not args.no_vacuum)  # fmt: skip
        finally:
            await deps.close()

    report = asyncio.run(_run())
    if args.json:
        print(json.dumps(msgspec.to_builtins(report), indent=2))
    else:
        print("\n".join(report.lines()))
    return 0


def cmd_hotels(args: argparse.Namespace) -> int:
    from agente.deps import build_deps
    from agente.hotels import load_hotels_file, seed_hotels
    from agente.migrate import upgrade
    from agente.settings import load_settings

    env = _env()
    settings = load_settings(env)

    async def _run() -> int:
        deps = build_deps(settings, env)
        try:
            if args.action == "seed":
                await upgrade(settings.database_url)
                hotels = load_hotels_file(args.file or settings.hotels_file)
                written = await seed_hotels(deps.db, hotels, deps.clock, overwrite=args.overwrite)
                skipped = [h.id for h in hotels if h.id not in written]
                print(f"seeded: {', '.join(written) or 'none'}")
                if skipped:
                    print(f"already present (use --overwrite to replace): {', '.join(skipped)}")
            else:
                for hotel in await deps.hotels.all():
                    print(f"{hotel.id}\t{hotel.name}\t{hotel.timezone}\tpms={hotel.pms.plugin}")
        finally:
            await deps.close()
        return 0

    return asyncio.run(_run())


def cmd_settings(_args: argparse.Namespace) -> int:
    from agente.settings import PREFIX, describe, load_settings

    for name, value in describe(load_settings(_env()), PREFIX).items():
        print(f"{name}={value}")
    return 0


def cmd_observability(args: argparse.Namespace) -> int:
    from pathlib import Path

    from agente.observability import write

    for path in write(Path(args.out), Path(args.alertmanager_out), dict(os.environ)):
        print(path)
    return 0


# ---------------------------------------------------------------------------- understand, nlu


def _today(value: str | None, timezone: str) -> Any:
    import datetime as dt
    from zoneinfo import ZoneInfo

    if value:
        return dt.date.fromisoformat(value)
    return dt.datetime.now(ZoneInfo(timezone)).date()


def cmd_understand(args: argparse.Namespace) -> int:
    """The pipeline on the command line: one JSON object per message (shared/docs/INTENTS.md)."""
    import datetime as dt

    from agente.pipeline.understand import Understander

    try:
        default_today = _today(args.today, args.timezone)
    except ValueError:
        return _fail(f"--today must be a date like 2026-11-22, not {args.today!r}")
    except Exception:
        return _fail(f"unknown --timezone {args.timezone!r}")
    model = Understander.load()
    encoder = msgspec.json.Encoder()
    out = sys.stdout.buffer

    def emit(text: str, today: dt.date) -> None:
        result = model(text, today=today, timezone=args.timezone, lang_hint=args.lang)
        out.write(encoder.encode(result))
        out.write(b"\n")

    if not args.jsonl:
        if not args.text:
            return _fail("give a message to understand, or --jsonl to read them from stdin")
        emit(" ".join(args.text), default_today)
        out.flush()
        return 0
    for number, raw in enumerate(sys.stdin.buffer, start=1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
            if not isinstance(item, dict) or not isinstance(item.get("text"), str):
                raise ValueError('each line must be an object with a "text" string')
            today = dt.date.fromisoformat(item["today"]) if item.get("today") else default_today
        except (ValueError, TypeError) as exc:
            out.write(encoder.encode({"error": f"line {number}: {exc}"}))
            out.write(b"\n")
            continue
        emit(item["text"], today)
    out.flush()
    return 0


def cmd_nlu(args: argparse.Namespace) -> int:
    from pathlib import Path

    from agente.pipeline import training
    from agente.pipeline.understand import Understander

    if args.action == "train":
        calibration = Path(args.calibrate) if args.calibrate else None
        model = training.train_models(Path(args.file) if args.file else training.DATA, calibration)
        print(
            f"trained: {len(model.intent_model.classes)} intents, "
            f"{len(model.intent_model.vocabulary)} features; temperature "
            f"{model.intent_model.temperature}"
        )
        return 0
    model = Understander.load()
    files = args.files or ["tests/nlu/dev.jsonl"]
    for name in files:
        report = training.evaluate(model, training.load_examples(Path(name)))
        print(training.format_report(report, name))
        if args.errors:
            Path(args.errors).write_text(training.dump_errors(report) + "\n", encoding="utf-8")
            print(f"errors written to {args.errors}")
    return 0


# ---------------------------------------------------------------------------- main


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agente", description="A virtual receptionist for hotels."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="run the HTTP service (with its own worker by default)")
    p.add_argument("--host", help="bind address (AGENTE_HOST, default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (AGENTE_PORT, default 8000)")
    p.add_argument(
        "--workers", type=int, help="Granian worker processes (AGENTE_WORKERS, default 1)"
    )
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("worker", help="run a message worker process")
    p.add_argument("--concurrency", type=int, help="messages at once (AGENTE_WORKER_CONCURRENCY)")
    p.add_argument("--metrics-port", type=int,
                   help="port of this worker's /metrics, 0 for none (AGENTE_WORKER_METRICS_PORT)")  # fmt: skip
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("chat", help="chat with the agent in the terminal")
    p.add_argument("--hotel", help="hotel id (default AGENTE_DEFAULT_HOTEL)")
    p.add_argument("--session", help="conversation id to continue (default: a new one)")
    p.add_argument(
        "--jsonl",
        action="store_true",
        help="one guest message per stdin line, one JSON object per turn",
    )
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for each reply")
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("reservations", help="list reservations, or confirm a deposit (staff)")
    p.add_argument("action", choices=["list", "confirm"])
    p.add_argument("reference", nargs="?", help="booking number or AG- reference (confirm)")
    p.add_argument("--amount", help="amount received (default: the deposit asked for)")
    p.add_argument("--operator", default=os.environ.get("USER") or "staff", help="who confirms")
    p.add_argument("--hotel", help="only this hotel (list)")
    p.add_argument("--status", help="only this status (list), e.g. awaiting_verification")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the voucher")
    p.set_defaults(func=cmd_reservations)

    p = sub.add_parser("handoff", help="conversations with staff: notifications, take, release")
    p.add_argument("action", choices=["notifications", "take", "release"])
    p.add_argument("conversation", nargs="?", type=int, help="conversation id (take, release)")
    p.add_argument("--operator", default=os.environ.get("USER") or "staff")
    p.add_argument("--hotel", help="only this hotel (notifications)")
    p.add_argument("--all", action="store_true", help="include notifications already seen")
    p.add_argument("--timeout", type=float, default=30.0)
    p.set_defaults(func=cmd_handoff)

    p = sub.add_parser("journeys", help="play scripted conversations (TOML) and check them")
    p.add_argument("files", nargs="+", help="journey files, e.g. tests/journeys/*.toml")
    p.add_argument("--match", help="only journeys whose name contains this")
    p.set_defaults(func=cmd_journeys)

    p = sub.add_parser("admin", help="admin API keys: create (shown once), list, revoke")
    p.add_argument("action", choices=["create-key", "keys", "revoke-key"])
    p.add_argument("key_id", nargs="?", help="the key to revoke")
    p.add_argument("--hotel", help="the hotel the key may see")
    p.add_argument("--all", action="store_true", help="every hotel")
    p.add_argument("--role", choices=["operator", "admin"], default="operator")
    p.add_argument("--label", default="", help="who or what the key is for")
    p.set_defaults(func=cmd_admin)

    p = sub.add_parser(
        "pms-check",
        help="prove a PMS plugin keeps the Pms contract (read-only unless --allow-writes)",
    )
    from agente.pms_kit import add_arguments

    add_arguments(p)
    p.set_defaults(func=cmd_pms_check)

    p = sub.add_parser("plugins", help="list installed and enabled plugins")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_plugins)

    p = sub.add_parser("migrate", help="database migrations")
    p.add_argument(
        "action", choices=["upgrade", "downgrade", "current"], nargs="?", default="upgrade"
    )
    p.add_argument("revision", nargs="?")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("backup", help="back up the database and its stored media (dir or S3)")
    p.add_argument("--to", help="a directory or s3://bucket/prefix (default AGENTE_BACKUP_TO)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser(
        "restore", help="restore a backup: checksums checked, migrations run, rows counted"
    )
    p.add_argument("name", nargs="?",
                   help="the backup's file name, or a path to it (default: the latest)")  # fmt: skip
    p.add_argument("--from", dest="source",
                   help="a directory or s3://bucket/prefix (default AGENTE_BACKUP_TO)")  # fmt: skip
    p.add_argument("--force", action="store_true",
                   help="replace a database that already holds data")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser(
        "maintenance",
        help="weekly: retention, personal data of closed conversations, leases, VACUUM",
    )
    p.add_argument(
        "--dry-run", action="store_true", help="count what would be done, change nothing"
    )
    p.add_argument("--no-vacuum", action="store_true", help="skip VACUUM (ANALYZE)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_maintenance)

    p = sub.add_parser("hotels", help="seed or list hotels")
    p.add_argument("action", choices=["seed", "list"])
    p.add_argument("--file", help="TOML file (default AGENTE_HOTELS_FILE, else the demo hotel)")
    p.add_argument("--overwrite", action="store_true", help="replace hotels that already exist")
    p.set_defaults(func=cmd_hotels)

    p = sub.add_parser("understand", help="intent, language and entities of messages (JSON)")
    p.add_argument("text", nargs="*", help="the message (or use --jsonl)")
    p.add_argument("--today", help="the hotel's date, YYYY-MM-DD (default: today there)")
    p.add_argument("--timezone", default="America/Argentina/Buenos_Aires")
    p.add_argument("--lang", choices=["es", "en", "pt"], help="language hint for short messages")
    p.add_argument("--jsonl", action="store_true", help='read {"text", "today"?} lines on stdin')
    p.set_defaults(func=cmd_understand)

    p = sub.add_parser("nlu", help="train or evaluate the understanding models")
    p.add_argument("action", choices=["train", "eval"])
    p.add_argument("files", nargs="*", help="labelled JSONL files to evaluate")
    p.add_argument("--file", help="training file (default agente/pipeline/data/train.jsonl)")
    p.add_argument("--calibrate", help="held-out file for the confidence temperature")
    p.add_argument("--errors", help="write the misunderstood examples to this JSONL file")
    p.set_defaults(func=cmd_nlu)

    p = sub.add_parser("settings", help="print the settings in force (secrets masked)")
    p.set_defaults(func=cmd_settings)

    p = sub.add_parser(
        "observability",
        help="render Prometheus rules (from SLO_TARGET) and Alertmanager's configuration",
    )
    p.add_argument("action", choices=["render"])
    p.add_argument(
        "--out",
        default="observability/prometheus/rules",
        help="directory to write agente.rules.yml into",
    )
    p.add_argument("--alertmanager-out", default="observability/alertmanager",
                   help="directory to write alertmanager.yml into")  # fmt: skip
    p.set_defaults(func=cmd_observability)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(args.func(args))
    except AgenteError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main())
