"""Documents the agent sent to guests (voucher PDFs), served to the channels that link them.

GET /documents/{key}    the document; the key is a 40-hex digest of its content
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from litestar import Response, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath  # noqa: TC002 (Litestar reads the annotation at run time)

from agente.adapters.sql import documents
from agente.deps import AppDeps

__all__ = ["get_document"]

_DOC_KEY = re.compile(r"[0-9a-f]{40}")


@get("/documents/{key:str}", tags=["webchat"], media_type="application/pdf")
async def get_document(deps: AppDeps, key: FromPath[str]) -> Response[bytes]:
    """A document the agent sent (a voucher). The key is a 40-hex digest of its content, so
    it cannot be guessed; anything else is a plain 404."""
    if not _DOC_KEY.fullmatch(key):
        raise NotFoundException("no such document")
    async with deps.db.begin() as conn:
        row = (
            await conn.execute(
                sa.select(documents.c.filename, documents.c.mime_type, documents.c.content).where(
                    documents.c.key == key
                )
            )
        ).first()
    if row is None:
        raise NotFoundException("no such document")
    return Response(
        bytes(row.content),
        media_type=row.mime_type,
        headers={
            "Content-Disposition": f'inline; filename="{row.filename}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, max-age=3600",
        },
    )
