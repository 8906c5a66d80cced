"""Signed WhatsApp webhooks, durably accepted: throughput and ack latency, next to the ceiling.

    python bench/whatsapp_ingest.py [--seconds 10] [--connections 64] [--rate 1000]
                                    [--database-url postgresql+asyncpg://postgres@127.0.0.1/postgres]

1. A fresh PostgreSQL database; ``agente serve`` (Granian, one worker process, no embedded
   message worker: this measures accepting, not answering) with the WhatsApp channel on.
2. N distinct signed webhook bodies (one text message each, a new wamid each) replayed by wrk
   through a Lua script: unpaced (how many per second are accepted), then paced at ``--rate``
   per second (the ack latency at a steady load), then the inbox is counted: every 200 must be a
   stored row.
3. The ceiling: a no-op Litestar POST endpoint on Granian, same machine, same wrk settings.

Targets (issue 5, this 2-core machine, load generator included): ≥ 2,000 signed webhooks/s
accepted, p99 ack ≤ 20 ms at a steady 1,000/s. wrk must be installed (Debian package ``wrk``).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-app-secret"
PNID = "100000000000001"

NOOP_APP = """
from litestar import Litestar, post, Request

@post("/noop", status_code=200)
async def noop(request: Request) -> None:
    await request.body()

def create_app() -> Litestar:
    return Litestar([noop])
"""

LUA = r"""
local bodies, sigs, n, i = {}, {}, 0, 0
local paced_delay = tonumber(os.getenv("PACE_MS") or "0")
local f = io.open(os.getenv("BODIES"), "r")
for line in f:lines() do
  local sig, body = line:match("^(%S+)\t(.*)$")
  n = n + 1; sigs[n] = sig; bodies[n] = body
end
f:close()
counter = 0
function setup(thread) thread:set("offset", counter); counter = counter + 1 end
function init(args) i = tonumber(os.getenv("START") or "0") + offset * math.floor(n / 8) end
function delay() return paced_delay end
request = function()
  i = i % n + 1
  return wrk.format("POST", "/webhooks/whatsapp", {
    ["Content-Type"] = "application/json",
    ["X-Hub-Signature-256"] = sigs[i],
  }, bodies[i])
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(port: int, path: str, seconds: float = 30) -> None:
    import httpx

    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}{path}", timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"nothing answered on port {port}")


def bodies(path: Path, count: int) -> None:
    with path.open("w") as out:
        for k in range(count):
            guest = f"54911{k % 5000:08d}"
            msg = {
                "object": "whatsapp_business_account",
                "entry": [{"id": "WABA1", "changes": [{"field": "messages", "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {"display_phone_number": "5492494445566", "phone_number_id": PNID},
                    "contacts": [{"profile": {"name": "Bench"}, "wa_id": guest}],
                    "messages": [{"from": guest, "id": f"wamid.{uuid.uuid4().hex}",
                                  "timestamp": str(int(time.time())), "type": "text",
                                  "text": {"body": f"hola, mensaje {k}"}}],
                }}]}],
            }  # fmt: skip
            raw = json.dumps(msg, separators=(",", ":"))
            sig = "sha256=" + hmac.new(SECRET.encode(), raw.encode(), hashlib.sha256).hexdigest()
            out.write(f"{sig}\t{raw}\n")


def wrk(
    port: int, path: str, seconds: int, connections: int, script: Path | None, env: dict[str, str]
) -> dict[str, float]:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script is not None:
        cmd += ["-s", str(script)]
    cmd.append(f"http://127.0.0.1:{port}{path}")
    out = subprocess.run(
        cmd, capture_output=True, text=True, env={**os.environ, **env}, check=True
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def pct(p: str) -> float:
        m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out)
        if m is None:
            return float("nan")
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    total = re.search(r"(\d+) requests in", out)
    return {
        "rps": rps,
        "p50": pct("50"),
        "p99": pct("99"),
        "requests": float(total.group(1)) if total else 0.0,
        "errors": float(non2xx.group(1)) if non2xx else 0.0,
    }


async def pg(admin_url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url.replace("+asyncpg", ""))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def count_inbox(url: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        return int(await conn.fetchval("select count(*) from inbox"))
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=1, help="Granian worker processes")
    parser.add_argument(
        "--database-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    name = f"agente_ingest_{uuid.uuid4().hex[:8]}"
    admin = args.database_url
    url = admin.rsplit("/", 1)[0] + f"/{name}"
    asyncio.run(pg(admin, f'CREATE DATABASE "{name}"'))
    procs: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        try:
            port = free_port()
            env = {
                **os.environ,
                "AGENTE_DATABASE_URL": url,
                "AGENTE_CHANNELS": "webchat,whatsapp",
                "AGENTE_WHATSAPP_ACCESS_TOKEN": "bench",
                "AGENTE_WHATSAPP_APP_SECRET": SECRET,
                "AGENTE_WHATSAPP_VERIFY_TOKEN": "bench",
                "AGENTE_WHATSAPP_API_BASE_URL": "http://127.0.0.1:9",
                "AGENTE_EMBEDDED_WORKER": "false",
                "AGENTE_LOG_LEVEL": "ERROR",
                "AGENTE_PORT": str(port),
                "AGENTE_WORKERS": str(args.workers),
            }
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "agente.cli", "serve"], env=env, cwd=work,
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )
            )  # fmt: skip
            wait_http(port, "/health/live")
            data = work / "bodies.tsv"
            expected = int(max(args.rate, 4000) * args.seconds * 6)
            bodies(data, expected)
            script = work / "post.lua"
            script.write_text(LUA)
            third = str(expected // 3)
            wrk(port, "/webhooks/whatsapp", 2, 8, script, {"BODIES": str(data), "START": "0"})
            warm = asyncio.run(count_inbox(url))
            burst = wrk(port, "/webhooks/whatsapp", args.seconds, args.connections, script,
                        {"BODIES": str(data), "START": third})  # fmt: skip
            pace_connections = max(4, args.rate // 20)
            pace_ms = str(int(1000 * pace_connections / args.rate))
            paced = wrk(port, "/webhooks/whatsapp", args.seconds, pace_connections, script,
                        {"BODIES": str(data), "PACE_MS": pace_ms,
                         "START": str(2 * int(third))})  # fmt: skip
            stored = asyncio.run(count_inbox(url)) - warm

            noop_port = free_port()
            (work / "noop_app.py").write_text(NOOP_APP)
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "granian", "--interface", "asgi", "--factory",
                     "--host", "127.0.0.1", "--port", str(noop_port), "--workers",
                     str(args.workers), "--no-log", "noop_app:create_app"],
                    cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )
            )  # fmt: skip
            time.sleep(2)
            noop_script = work / "noop.lua"
            noop_script.write_text(LUA.replace("/webhooks/whatsapp", "/noop"))
            ceiling = wrk(noop_port, "/noop", args.seconds, args.connections, noop_script,
                          {"BODIES": str(data)})  # fmt: skip
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(timeout=20)
            asyncio.run(pg(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    accepted_ok = burst["requests"] + paced["requests"] - burst["errors"] - paced["errors"]
    print(f"Granian workers: {args.workers}; PostgreSQL; wrk -t2 on the same 2-core machine")
    print(
        f"unpaced, {args.connections} connections: {burst['rps']:,.0f} signed webhooks/s "
        f"accepted; ack p50 {burst['p50']:.1f} ms, p99 {burst['p99']:.1f} ms; "
        f"non-2xx {burst['errors']:.0f}"
    )
    print(
        f"paced at ~{args.rate}/s: {paced['rps']:,.0f}/s; ack p50 {paced['p50']:.1f} ms, "
        f"p99 {paced['p99']:.1f} ms; non-2xx {paced['errors']:.0f}"
    )
    print(f"stored rows: {stored:,} for {accepted_ok:,.0f} acknowledged requests")
    print(
        f"no-op Litestar ceiling: {ceiling['rps']:,.0f} requests/s "
        f"(p50 {ceiling['p50']:.1f} ms, p99 {ceiling['p99']:.1f} ms)"
    )


if __name__ == "__main__":
    main()
