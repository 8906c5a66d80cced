"""Backups and restores beyond the drill: retention by count and age with the weekly copies,
damaged or unchecked archives refused, a backup of another kind of database refused, and the
whole round trip through an S3-compatible bucket (moto's server on loopback, never the
internet), from the command line."""

from __future__ import annotations

import asyncio
import datetime as dt
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agente.backup import (
    BackupError,
    LocalDestination,
    backup,
    holds_data,
    plan_retention,
    restore,
)
from agente.hotels import load_hotels_file, seed_hotels
from agente.migrate import upgrade
from agente.testing import FrozenClock
from tests.conftest import free_port, run_cli

T0 = dt.datetime(2026, 12, 5, 3, 0, tzinfo=dt.UTC)  # a Saturday


def name_at(when: dt.datetime) -> str:
    return f"agente-{when:%Y%m%dT%H%M%SZ}.tar"


async def seeded_sqlite(path: Path) -> str:
    from agente.adapters.sql import Database

    url = f"sqlite+aiosqlite:///{path}"
    await upgrade(url)
    db = Database.connect(url)
    try:
        await seed_hotels(db, load_hotels_file(None), FrozenClock())
    finally:
        await db.close()
    return url


# ------------------------------------------------------------------------------ retention


def test_retention_keeps_the_newest_by_count_and_drops_the_too_old() -> None:
    names = [name_at(T0 - dt.timedelta(days=d)) for d in range(10)]
    doomed = plan_retention(names, keep=7, now=T0, max_age_days=90)
    assert sorted(doomed) == sorted(names[7:])
    # age: nothing older than 5 days, whatever the count
    assert sorted(plan_retention(names, keep=30, now=T0, max_age_days=5)) == sorted(names[6:])
    # the newest backup is never deleted, however old
    ancient = [name_at(T0 - dt.timedelta(days=400))]
    assert plan_retention(ancient, keep=1, now=T0, max_age_days=90) == []
    # what is not a backup of ours is never touched
    assert plan_retention(["notes.txt", "agente-x.tar", *names], 1, T0, 0) == names[1:]


@given(
    ages=st.lists(st.integers(min_value=0, max_value=400), min_size=1, max_size=30, unique=True),
    keep=st.integers(min_value=1, max_value=10),
    max_age=st.integers(min_value=0, max_value=120),
)
def test_retention_properties(ages: list[int], keep: int, max_age: int) -> None:
    names = [name_at(T0 - dt.timedelta(days=a)) for a in ages]
    doomed = set(plan_retention(names, keep, T0, max_age))
    kept = [n for n in names if n not in doomed]
    newest = name_at(T0 - dt.timedelta(days=min(ages)))
    assert newest in kept
    assert len(kept) <= keep
    if max_age:
        assert all(
            n == newest or T0 - dt.datetime.strptime(n[7:-4], "%Y%m%dT%H%M%SZ").replace(
                tzinfo=dt.UTC) <= dt.timedelta(days=max_age)
            for n in kept
        )  # fmt: skip


async def test_daily_backups_with_one_weekly_copy_per_iso_week(tmp_path: Path) -> None:
    url = await seeded_sqlite(tmp_path / "agente.db")
    to = LocalDestination(tmp_path / "backups")
    results = []
    for day in range(10):  # Saturday 5 December to Monday 14 December
        when = T0 + dt.timedelta(days=day)
        results.append(await backup(url, to, now=when, keep_daily=7, keep_weekly=4))
    daily = [n for n in to.list("daily") if n.endswith(".tar")]
    weekly = [n for n in to.list("weekly") if n.endswith(".tar")]
    assert daily == [name_at(T0 + dt.timedelta(days=d)) for d in range(3, 10)]
    # the first backup of each ISO week: Sat 5 (week 49), Mon 7 (week 50), Mon 14 (week 51)
    assert weekly == [name_at(T0 + dt.timedelta(days=d)) for d in (0, 2, 9)]
    assert [r.weekly for r in results] == [d in (0, 2, 9) for d in range(10)]
    assert "daily/" + name_at(T0) in results[7].deleted
    # every archive has its checksum beside it, in sha256sum's format
    for name in daily:
        line = (tmp_path / "backups/daily" / f"{name}.sha256").read_text()
        assert line.endswith(f"  {name}\n") and len(line.split()[0]) == 64


# ------------------------------------------------------------------------------ refusals


async def test_a_damaged_or_unchecked_backup_is_refused(tmp_path: Path) -> None:
    url = await seeded_sqlite(tmp_path / "agente.db")
    to = LocalDestination(tmp_path / "backups")
    done = await backup(url, to, now=T0)
    archive = tmp_path / "backups/daily" / done.name
    target = f"sqlite+aiosqlite:///{tmp_path / 'new.db'}"

    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF
    archive.write_bytes(bytes(data))
    with pytest.raises(BackupError, match="does not match its checksum"):
        await restore(target, to, done.name, folder="daily")
    (tmp_path / "backups/daily" / f"{done.name}.sha256").unlink()
    with pytest.raises(BackupError, match=r"no \.sha256"):
        await restore(target, to, done.name, folder="daily")
    assert not (tmp_path / "new.db").exists()  # nothing was written


async def test_a_backup_restores_only_into_its_kind_and_only_over_nothing(tmp_path: Path) -> None:
    url = await seeded_sqlite(tmp_path / "agente.db")
    to = LocalDestination(tmp_path / "backups")
    done = await backup(url, to, now=T0)
    with tarfile.open(tmp_path / "backups/daily" / done.name) as tar:
        assert sorted(tar.getnames()) == ["database.sqlite.gz", "manifest.json"]
    with pytest.raises(BackupError, match="is a sqlite backup; the target is postgresql"):
        await restore("postgresql+asyncpg://nobody@127.0.0.1:9/none", to)
    assert await holds_data(url)
    with pytest.raises(BackupError, match="--force"):
        await restore(url, to)
    again = await restore(url, to, force=True)
    assert again.complete and again.tables["hotels"] == (1, 1)


# ------------------------------------------------------------------------------ S3


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    creds = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
             "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip
    for key, value in creds.items():
        monkeypatch.setenv(key, value)
    import boto3

    endpoint = f"http://127.0.0.1:{port}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="hotel-backups")
    yield endpoint
    server.stop()


def test_backup_to_s3_and_restore_from_it_on_the_command_line(tmp_path: Path, s3: str) -> None:
    url = asyncio.run(seeded_sqlite(tmp_path / "agente.db"))
    env = {"AGENTE_DATABASE_URL": url, "AGENTE_BACKUP_S3_ENDPOINT_URL": s3,
           "AGENTE_BACKUP_TO": "s3://hotel-backups/agente/prod",
           "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip
    done = run_cli(tmp_path, "backup", "--json", **env)
    assert done.returncode == 0, done.stderr
    assert '"location": "s3://hotel-backups/agente/prod/daily/agente-' in done.stdout

    import boto3

    keys = sorted(o["Key"] for o in boto3.client("s3", endpoint_url=s3).list_objects_v2(
        Bucket="hotel-backups")["Contents"])  # fmt: skip
    assert len(keys) == 4 and all(k.startswith("agente/prod/") for k in keys)
    assert sum(k.endswith(".sha256") for k in keys) == 2  # daily and weekly

    fresh = {**env, "AGENTE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"}
    restored = run_cli(tmp_path, "restore", **fresh)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "hotels" in restored.stdout and "MISSING" not in restored.stdout
    assert asyncio.run(holds_data(fresh["AGENTE_DATABASE_URL"]))


def test_the_database_password_never_reaches_a_command_line() -> None:
    from agente.backup import _libpq

    target, env = _libpq("postgresql+asyncpg://agente:s3cr%40t@db.internal:5432/agente?ssl=require")
    assert target == "postgresql://agente@db.internal:5432/agente?sslmode=require"
    assert "s3cr" not in target and env["PGPASSWORD"] == "s3cr@t"
