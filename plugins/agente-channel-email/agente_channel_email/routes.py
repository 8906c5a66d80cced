"""``POST /webhooks/gmail``: Google's Pub/Sub push for a Gmail mailbox (gmail.md §2.4).

The OIDC token is checked first (401 without a valid Google token for our audience, 403 for
another account), and nothing is recorded for a push that fails it. A valid push marks the
mailbox dirty in the database and wakes the worker; the answer is 204 at once, since Pub/Sub
redelivers anything else. A push for a mailbox we do not serve is acknowledged and ignored; a
body that is not a Gmail notification is a 400 with a log line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import structlog
from litestar import Request, Response, post

from agente.registry import IngressDependency
from agente_channel_email.gmail import BadPush, PushRejected

if TYPE_CHECKING:
    from agente_channel_email.gmail import GmailChannel

__all__ = ["push"]

log = structlog.get_logger("agente.channel.gmail")


@post("/webhooks/gmail", tags=["gmail"], status_code=200, request_max_body_size=64 * 1024)
async def push(request: Request[Any, Any, Any], ingress: IngressDependency) -> Response[Any]:
    """A Gmail mailbox changed: verify Google's token, mark the mailbox for a sync, 204."""
    channel: GmailChannel = ingress.channel("gmail")
    try:
        await channel.verify_push(request.headers.get("authorization"))
    except PushRejected as exc:
        channel.metrics.pushes.labels("rejected").inc()
        log.warning("gmail_push_rejected", status=exc.status, reason=exc.reason)
        return Response({"error": exc.reason}, status_code=exc.status)
    try:
        outcome = await channel.on_push(await request.body())
    except BadPush as exc:
        channel.metrics.pushes.labels("malformed").inc()
        log.warning("gmail_push_malformed", error=str(exc))
        return Response({"error": str(exc)}, status_code=400)
    channel.metrics.pushes.labels(outcome).inc()
    log.info("gmail_push", outcome=outcome)
    return Response(None, status_code=204)
