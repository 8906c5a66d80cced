"""The runbook "Confirmar Reserva con Seña" in a real browser (Debian's Chromium, Playwright).

A scripted guest books through the web chat of a real ``agente serve`` and says they paid; an
operator logs in to the dashboard with a key made by ``agente admin create-key``, opens the
deposit, clicks "Confirmar Reserva", and the page says the voucher was sent; the guest's chat
has it.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import CI, free_port, run_cli, running_serve

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AGENTE_PORT": str(port),
        "AGENTE_ENV": "test",
        "AGENTE_BUSINESS_HOURS_ALWAYS_OPEN": "true",
        "AGENTE_LOG_LEVEL": "WARNING",
        "AGENTE_WORKER_POLL_INTERVAL": "0.05",
    }
    with running_serve(tmp_path, env) as base:
        yield base, tmp_path


def _guest_books_and_pays(base: str) -> None:
    with httpx.Client(base_url=base, timeout=10) as client:
        for text in ("tienen lugar del 15/12 al 18/12 para 2?", "1", "Ana Pérez",
                     "ana@example.com", "ya te transferí"):  # fmt: skip
            before = client.get("/webchat/demo/messages", params={"session_id": "guest-1"})
            cursor = before.json()["cursor"]
            r = client.post("/webchat/demo/messages", json={"session_id": "guest-1", "text": text})
            assert r.status_code == 202
            got = client.get(
                "/webchat/demo/messages",
                params={"session_id": "guest-1", "after": cursor, "wait": 10},
            )
            assert any(m["direction"] == "out" for m in got.json()["messages"]), text


async def test_an_operator_confirms_a_deposit_in_the_dashboard(
    server: tuple[str, Path],
) -> None:
    if CHROMIUM is None:
        if CI:
            pytest.fail("Chromium is not installed; CI=true forbids skipping (just browser)")
        pytest.skip("Chromium is not installed (apt-get install chromium, or just browser)")
    from playwright.async_api import async_playwright

    base, cwd = server
    _guest_books_and_pays(base)
    made = run_cli(cwd, "admin", "create-key", "--hotel", "demo", "--label", "browser test")
    assert made.returncode == 0, made.stderr
    key = json.loads(made.stdout)["key"]

    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        try:
            page = await browser.new_page()
            await page.goto(f"{base}/admin/")
            await page.fill("#key", key)
            await page.click("button[type=submit]")
            await page.wait_for_selector("#deposits")
            await page.click("#deposits a.btn")  # the deposit awaiting verification
            await page.wait_for_selector("#confirm")
            assert await page.text_content("#status") == "comprobante por verificar"
            await page.click("#confirm")
            for _ in range(50):  # the worker confirms and sends the voucher
                if await page.query_selector("#voucher"):
                    break
                await page.wait_for_timeout(200)
                await page.reload()
            assert "voucher" in (await page.text_content("#voucher") or "")
            assert await page.text_content("#status") == "confirmada"
        finally:
            await browser.close()

    history = httpx.get(f"{base}/webchat/demo/messages", params={"session_id": "guest-1"}).json()
    documents = [m for m in history["messages"] if m.get("response_type") == "document"]
    assert documents and documents[0]["content"]["media"]["filename"].endswith(".pdf")
