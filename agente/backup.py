"""Backups and restores of Agente's database (``agente backup``, ``agente restore``).

Everything Agente keeps lives in its database: conversations, reservations, the inbox and
outbox, and the stored media (guests' payment proofs and the vouchers sent, table
``documents``). So one consistent dump is the whole backup.

A backup is one file, ``agente-<UTC time>.tar``, and its checksum ``….tar.sha256`` (the format
of ``sha256sum``). The archive holds ``manifest.json`` (when, which database, the migration
revision, the row count of every table, the dump's SHA-256) and the dump itself:

- PostgreSQL: ``pg_dump --format=custom`` (compressed), taken inside a repeatable-read
  transaction whose snapshot is exported, so the row counts in the manifest are exactly those
  of the dump, whatever writes go on meanwhile;
- SQLite: the online backup API (``sqlite3.Connection.backup``), a consistent copy even while
  the service writes, gzip-compressed.

Destinations: a local directory or an S3-compatible bucket (``s3://bucket/prefix``, with the
``s3`` extra). New backups go to ``daily/``; the first one of each ISO week is also copied to
``weekly/``. Retention keeps the newest ``keep_daily`` daily and ``keep_weekly`` weekly backups,
and deletes any older than ``max_age_days``.

A restore checks both checksums, refuses a database that holds data unless ``force``, restores
(``pg_restore --clean --if-exists --single-transaction``; SQLite: an atomic file replace), runs
the migrations, and compares the row counts with the manifest.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gzip
import hashlib
import io
import json
import os
import shutil
import socket
import sqlite3
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import msgspec
import sqlalchemy as sa

from agente.errors import AgenteError

__all__ = [
    "BackupError",
    "BackupResult",
    "Manifest",
    "RestoreResult",
    "backup",
    "destination",
    "restore",
]

FORMAT = 1
_NAME = "agente-{stamp}.tar"
_STAMP = "%Y%m%dT%H%M%SZ"


class BackupError(AgenteError):
    """A backup or restore that cannot go on; the message says why."""


class Manifest(msgspec.Struct, frozen=True, kw_only=True):
    format: int
    created_at: str
    database: str
    revision: str | None
    tables: dict[str, int]
    dump: str
    dump_sha256: str
    dump_bytes: int
    documents_bytes: int
    host: str


class BackupResult(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    location: str
    bytes: int
    sha256: str
    manifest: Manifest
    weekly: bool
    deleted: list[str]
    seconds: float


class RestoreResult(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    tables: dict[str, tuple[int, int]]
    """table → (rows in the backup, rows restored)"""
    revision: str | None
    seconds: float

    @property
    def complete(self) -> bool:
        return all(restored >= expected for expected, restored in self.tables.values())


# ------------------------------------------------------------------------------ destinations


class Destination(Protocol):
    def put(self, folder: str, path: Path, name: str) -> None: ...
    def get(self, folder: str, name: str, path: Path) -> None: ...
    def list(self, folder: str) -> list[str]: ...
    def delete(self, folder: str, name: str) -> None: ...
    def describe(self, folder: str, name: str) -> str: ...


class LocalDestination:
    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, folder: str, path: Path, name: str) -> None:
        target = self.root / folder
        target.mkdir(parents=True, exist_ok=True)
        partial = target / f".{name}.partial"
        shutil.copyfile(path, partial)
        partial.replace(target / name)  # never a half-written backup under its name

    def get(self, folder: str, name: str, path: Path) -> None:
        source = self.root / folder / name
        if not source.is_file():
            raise BackupError(f"no backup {name!r} in {self.root / folder}")
        shutil.copyfile(source, path)

    def list(self, folder: str) -> list[str]:
        where = self.root / folder
        return sorted(p.name for p in where.iterdir() if p.is_file()) if where.is_dir() else []

    def delete(self, folder: str, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.root / folder / name).unlink()

    def describe(self, folder: str, name: str) -> str:
        return str(self.root / folder / name)


class S3Destination:
    """An S3-compatible bucket (AWS, MinIO, R2, Tigris …) through boto3. Credentials come from
    the usual ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` (or the instance's role)."""

    def __init__(self, bucket: str, prefix: str, endpoint_url: str | None, region: str | None):
        try:
            import boto3
        except ImportError as exc:  # pragma: no cover - the s3 extra is missing
            raise BackupError(
                "backups to S3 need boto3: install Agente with its s3 extra (agente[s3])"
            ) from exc
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = boto3.client("s3", endpoint_url=endpoint_url or None,
                                   region_name=region or None)  # fmt: skip

    def _key(self, folder: str, name: str) -> str:
        return "/".join(p for p in (self.prefix, folder, name) if p)

    def put(self, folder: str, path: Path, name: str) -> None:
        self.client.upload_file(str(path), self.bucket, self._key(folder, name))

    def get(self, folder: str, name: str, path: Path) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client.download_file(self.bucket, self._key(folder, name), str(path))
        except ClientError as exc:
            raise BackupError(f"no backup {name!r} in s3://{self.bucket}/{self._key(folder, '')}"
                              f" ({exc.response.get('Error', {}).get('Code')})") from exc  # fmt: skip

    def list(self, folder: str) -> list[str]:
        prefix = self._key(folder, "")
        prefix = prefix if prefix.endswith("/") else prefix + "/"
        names: list[str] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix
        ):
            names += [o["Key"][len(prefix) :] for o in page.get("Contents", [])]
        return sorted(n for n in names if n and "/" not in n)

    def delete(self, folder: str, name: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(folder, name))

    def describe(self, folder: str, name: str) -> str:
        return f"s3://{self.bucket}/{self._key(folder, name)}"


def destination(where: str, *, endpoint_url: str | None = None,
                region: str | None = None) -> Destination:  # fmt: skip
    """``s3://bucket/prefix`` or a local directory."""
    if where.startswith("s3://"):
        bucket, _, prefix = where[5:].partition("/")
        if not bucket:
            raise BackupError(f"{where!r} names no bucket (s3://bucket/prefix)")
        return S3Destination(bucket, prefix, endpoint_url, region)
    return LocalDestination(Path(where))


# ------------------------------------------------------------------------------ helpers


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """SQLAlchemy's URL as libpq (pg_dump, pg_restore) reads it, and the environment for the
    tool: the password goes in ``PGPASSWORD``, never on a command line that ``ps`` shows."""
    parsed = sa.engine.make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    query = dict(parsed.query)
    if "ssl" in query and "sslmode" not in query:  # asyncpg's name for libpq's sslmode
        query["sslmode"] = query.pop("ssl")
    plain = parsed._replace(drivername="postgresql", password=None).set(query=query)
    return plain.render_as_string(hide_password=False), env


def _sqlite_path(url: str) -> Path:
    _, _, rest = url.partition(":///")
    if not rest or rest.startswith(":memory:"):
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(rest.split("?", 1)[0])


def _tables() -> list[str]:
    from agente.adapters.sql import metadata

    return [t.name for t in metadata.sorted_tables]


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not installed (PostgreSQL's client tools: apt-get install "
                          "postgresql-client, of the server's major version or newer)")  # fmt: skip
    return found


async def _run(*cmd: str, env: dict[str, str] | None = None) -> None:
    process = await asyncio.create_subprocess_exec(*cmd, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.PIPE, env=env)  # fmt: skip
    _, err = await process.communicate()
    if process.returncode != 0:
        raise BackupError(f"{Path(cmd[0]).name} failed ({process.returncode}): "
                          f"{err.decode(errors='replace').strip()[-800:]}")  # fmt: skip


def _count_sync(conn: Any, tables: list[str]) -> dict[str, int]:
    present = set(sa.inspect(conn).get_table_names())
    out = {}
    for name in tables:
        if name in present:
            # the names are our own tables' (metadata), never input
            query = sa.select(sa.func.count()).select_from(sa.table(name))
            out[name] = int(conn.execute(query).scalar_one())
    return out


def _documents_bytes(conn: Any) -> int:
    present = set(sa.inspect(conn).get_table_names())
    if "documents" not in present:
        return 0
    total = conn.execute(sa.text("SELECT coalesce(sum(length(content)), 0) FROM documents"))
    return int(total.scalar_one())


def _revision(conn: Any) -> str | None:
    present = set(sa.inspect(conn).get_table_names())
    if "alembic_version" not in present:
        return None
    value = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    return None if value is None else str(value)


# ------------------------------------------------------------------------------ backup


async def _dump_postgres(url: str, workdir: Path) -> tuple[Path, dict[str, int], str | None, int]:
    from sqlalchemy.ext.asyncio import create_async_engine

    pg_dump = _tool("pg_dump")
    out = workdir / "database.pgdump"
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"))
            snapshot = (await conn.execute(sa.text("SELECT pg_export_snapshot()"))).scalar_one()
            counts = await conn.run_sync(_count_sync, _tables())
            revision = await conn.run_sync(_revision)
            media = await conn.run_sync(_documents_bytes)
            # pg_dump reads the very snapshot the counts were taken in, while we hold it open
            target, env = _libpq(url)
            await _run(pg_dump, "--format=custom", "--compress=6", "--no-owner",
                       "--no-privileges", f"--snapshot={snapshot}", f"--file={out}",
                       target, env=env)  # fmt: skip
            await conn.execute(sa.text("COMMIT"))
    finally:
        await engine.dispose()
    return out, counts, revision, media


def _dump_sqlite(url: str, workdir: Path) -> tuple[Path, dict[str, int], str | None, int]:
    source = _sqlite_path(url)
    if not source.is_file():
        raise BackupError(f"the SQLite database {source} does not exist")
    copy = workdir / "database.sqlite"
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(copy)
    try:
        src.backup(dst)  # the online backup API: consistent even while the service writes
    finally:
        src.close()
        dst.close()
    engine = sa.create_engine(f"sqlite:///{copy}")
    try:
        with engine.connect() as conn:
            counts = _count_sync(conn, _tables())
            revision = _revision(conn)
            media = _documents_bytes(conn)
    finally:
        engine.dispose()
    out = workdir / "database.sqlite.gz"
    with copy.open("rb") as f, gzip.open(out, "wb", compresslevel=6) as g:
        shutil.copyfileobj(f, g, 1 << 20)
    copy.unlink()
    return out, counts, revision, media


def _week(name: str) -> tuple[int, int] | None:
    when = _when(name)
    return None if when is None else when.isocalendar()[:2]


def _when(name: str) -> dt.datetime | None:
    if not (name.startswith("agente-") and name.endswith(".tar")):
        return None
    try:
        return dt.datetime.strptime(name[7:-4], _STAMP).replace(tzinfo=dt.UTC)
    except ValueError:
        return None


def plan_retention(names: list[str], keep: int, now: dt.datetime,
                   max_age_days: int) -> list[str]:  # fmt: skip
    """Which backups of one folder to delete: all but the newest ``keep``, and any older than
    ``max_age_days`` (0: no age limit). The newest is never deleted."""
    dated = sorted(((w, n) for n in names if (w := _when(n)) is not None), reverse=True)
    doomed = []
    for index, (when, name) in enumerate(dated):
        too_old = max_age_days > 0 and now - when > dt.timedelta(days=max_age_days)
        if index > 0 and (index >= keep or too_old):
            doomed.append(name)
    return doomed


async def backup(
    url: str,
    to: Destination,
    *,
    now: dt.datetime | None = None,
    keep_daily: int = 7,
    keep_weekly: int = 4,
    max_age_days: int = 90,
) -> BackupResult:
    """Dump the database, archive it with its manifest, store it, apply the retention."""
    import time

    started = time.perf_counter()
    now = now or dt.datetime.now(dt.UTC)
    name = _NAME.format(stamp=now.strftime(_STAMP))
    with tempfile.TemporaryDirectory(prefix="agente-backup-") as tmp:
        work = Path(tmp)
        if url.startswith("postgresql"):
            dump, counts, revision, media = await _dump_postgres(url, work)
            kind = "postgresql"
        elif url.startswith("sqlite"):
            dump, counts, revision, media = await asyncio.to_thread(_dump_sqlite, url, work)
            kind = "sqlite"
        else:
            raise BackupError(f"cannot back up a database of this kind: {url.split(':')[0]}")
        manifest = Manifest(format=FORMAT, created_at=now.isoformat(), database=kind,
                            revision=revision, tables=counts, dump=dump.name,
                            dump_sha256=_sha256(dump), dump_bytes=dump.stat().st_size,
                            documents_bytes=media, host=socket.gethostname())  # fmt: skip
        archive = work / name
        with tarfile.open(archive, "w") as tar:
            data = msgspec.json.format(msgspec.json.encode(manifest))
            info = tarfile.TarInfo("manifest.json")
            info.size, info.mtime = len(data), int(now.timestamp())
            tar.addfile(info, io.BytesIO(data))
            tar.add(dump, arcname=dump.name)
        digest = _sha256(archive)
        sidecar = work / f"{name}.sha256"
        sidecar.write_text(f"{digest}  {name}\n")
        # the archive first, its checksum last: a checksum names only a complete archive
        await asyncio.to_thread(to.put, "daily", archive, name)
        await asyncio.to_thread(to.put, "daily", sidecar, sidecar.name)
        weekly = False
        existing = await asyncio.to_thread(to.list, "weekly")
        if not any(_week(n) == now.isocalendar()[:2] for n in existing):
            await asyncio.to_thread(to.put, "weekly", archive, name)
            await asyncio.to_thread(to.put, "weekly", sidecar, sidecar.name)
            weekly = True
        size = archive.stat().st_size
    deleted = []
    for folder, keep in (("daily", keep_daily), ("weekly", keep_weekly)):
        names = await asyncio.to_thread(to.list, folder)
        for old in plan_retention(names, keep, now, max_age_days):
            for item in (old, f"{old}.sha256"):
                await asyncio.to_thread(to.delete, folder, item)
            deleted.append(f"{folder}/{old}")
    return BackupResult(name=name, location=to.describe("daily", name), bytes=size,
                        sha256=digest, manifest=manifest, weekly=weekly, deleted=deleted,
                        seconds=round(time.perf_counter() - started, 3))  # fmt: skip


# ------------------------------------------------------------------------------ restore


def latest(source: Destination) -> tuple[str, str]:
    """The newest complete backup (with its checksum) in ``daily/`` or ``weekly/``."""
    found = []
    for folder in ("daily", "weekly"):
        names = set(source.list(folder))
        found += [(_when(n), n, folder) for n in names
                  if _when(n) is not None and f"{n}.sha256" in names]  # fmt: skip
    if not found:
        raise BackupError("no backup found (daily/ and weekly/ are empty)")
    _, name, folder = max(found)
    return folder, name


@contextlib.contextmanager
def _fetched(
    source: Destination, name: str | None, folder: str | None
) -> Iterator[tuple[str, Path, Manifest]]:
    """Download ``name`` (or the latest), check both checksums, unpack; the dump's path."""
    with tempfile.TemporaryDirectory(prefix="agente-restore-") as tmp:
        work = Path(tmp)
        if name is None:
            folder, name = latest(source)
        elif folder is None:
            folder = "weekly" if name not in source.list("daily") else "daily"
        archive = work / name
        source.get(folder, name, archive)
        try:
            source.get(folder, f"{name}.sha256", work / "sum")
        except BackupError as exc:
            raise BackupError(f"{name} has no .sha256 beside it: refusing an unchecked "
                              "backup") from exc  # fmt: skip
        expected = (work / "sum").read_text().split()[0]
        if _sha256(archive) != expected:
            raise BackupError(f"{name} does not match its checksum: the file is damaged or "
                              "incomplete; try another backup")  # fmt: skip
        with tarfile.open(archive) as tar:
            manifest_file = tar.extractfile("manifest.json")
            if manifest_file is None:
                raise BackupError(f"{name} has no manifest")
            manifest = msgspec.json.decode(manifest_file.read(), type=Manifest)
            if manifest.format > FORMAT:
                raise BackupError(f"{name} is of a newer format ({manifest.format}); "
                                  "restore it with a newer Agente")  # fmt: skip
            tar.extract(manifest.dump, work, filter="data")
        dump = work / manifest.dump
        if _sha256(dump) != manifest.dump_sha256:
            raise BackupError(f"the dump inside {name} does not match its manifest")
        yield name, dump, manifest


async def _counts(url: str) -> tuple[dict[str, int], str | None]:
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            counts = await conn.run_sync(_count_sync, _tables())
            revision = await conn.run_sync(_revision)
    finally:
        await engine.dispose()
    return counts, revision


async def holds_data(url: str) -> bool:
    """Whether the database has any row in any of Agente's tables."""
    if url.startswith("sqlite"):
        path = _sqlite_path(url)
        if not path.exists() or path.stat().st_size == 0:
            return False
    counts, _ = await _counts(url)
    return any(counts.values())


async def restore(url: str, source: Destination, name: str | None = None, *,
                  folder: str | None = None, force: bool = False) -> RestoreResult:  # fmt: skip
    """Restore ``name`` (default: the latest) into ``url``; see the module's docstring."""
    import time

    from agente.migrate import upgrade

    started = time.perf_counter()
    kind = "postgresql" if url.startswith("postgresql") else "sqlite"
    with _fetched(source, name, folder) as (name, dump, manifest):
        if manifest.database != kind:
            raise BackupError(f"{name} is a {manifest.database} backup; the target is {kind}")
        if not force and await holds_data(url):
            raise BackupError("the target database already holds data; restoring would replace "
                              "it: pass --force if that is what you want")  # fmt: skip
        if kind == "postgresql":
            libpq, env = _libpq(url)
            await _run(_tool("pg_restore"), "--clean", "--if-exists", "--no-owner",
                       "--no-privileges", "--single-transaction", "--exit-on-error",
                       f"--dbname={libpq}", str(dump), env=env)  # fmt: skip
        else:
            target = _sqlite_path(url)
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.restoring")
            with gzip.open(dump, "rb") as g, partial.open("wb") as f:
                shutil.copyfileobj(g, f, 1 << 20)
            for suffix in ("-wal", "-shm"):  # a stale log must not be replayed over the copy
                with contextlib.suppress(FileNotFoundError):
                    target.with_name(target.name + suffix).unlink()
            partial.replace(target)
    await upgrade(url)
    counts, revision = await _counts(url)
    tables = {t: (n, counts.get(t, 0)) for t, n in manifest.tables.items()}
    return RestoreResult(name=name, tables=tables, revision=revision,
                         seconds=round(time.perf_counter() - started, 3))  # fmt: skip


def describe_result(result: BackupResult) -> str:
    m = result.manifest
    lines = [
        f"backup {result.name}: {result.bytes:,} bytes, sha256 {result.sha256[:16]}…, "
        f"{result.seconds:.1f} s",
        f"  stored at {result.location}"
        + (" (and as this week's weekly)" if result.weekly else ""),
        f"  {m.database} at revision {m.revision}; {sum(m.tables.values()):,} rows, "
        f"{m.documents_bytes:,} bytes of stored media",
    ]
    lines += [f"  deleted {d} (retention)" for d in result.deleted]
    return "\n".join(lines)


def describe_restore(result: RestoreResult) -> str:
    width = max((len(t) for t in result.tables), default=5)
    lines = [f"restored {result.name} in {result.seconds:.1f} s (revision {result.revision})",
             f"  {'table':<{width}}  {'backup':>9}  {'restored':>9}"]  # fmt: skip
    for table, (expected, got) in result.tables.items():
        mark = "" if got >= expected else "  MISSING ROWS"
        lines.append(f"  {table:<{width}}  {expected:>9,}  {got:>9,}{mark}")
    return "\n".join(lines)


def as_json(result: BackupResult | RestoreResult) -> str:
    return json.dumps(msgspec.to_builtins(result), indent=2)
