"""A turn's replies as mail: one mail per turn, texts in order, the voucher attached; options
and places as text."""

from __future__ import annotations

from agente_channel_email.channel import body_text, coalesce, provider_id_of

from agente.domain import (
    Button,
    ListRow,
    ListSection,
    Media,
    OutboundMessage,
    OutButtons,
    OutDocument,
    OutList,
    OutLocation,
    OutText,
)


def out(body: object) -> OutboundMessage:
    return OutboundMessage(channel="imap", hotel_id="demo", recipient_id="a@example.com",
                           body=body, in_reply_to="<m@x>")  # type: ignore[arg-type]  # fmt: skip


PDF = Media(stored_key="k1", mime_type="application/pdf", filename="voucher.pdf")


def test_a_turn_is_one_mail_with_the_voucher_attached() -> None:
    merged = coalesce(
        [out(OutText(text="¡Confirmada!")), out(OutDocument(media=PDF, caption="Tu voucher"))]
    )
    assert len(merged) == 1
    body = merged[0].body
    assert isinstance(body, OutDocument) and body.media == PDF
    assert body.caption == "¡Confirmada!\n\nTu voucher"
    assert merged[0].in_reply_to == "<m@x>"


def test_texts_join_in_order_and_a_second_file_starts_a_second_mail() -> None:
    other = Media(stored_key="k2", mime_type="image/jpeg", filename="map.jpg")
    merged = coalesce([
        out(OutText(text="a")), out(OutText(text="b")), out(OutDocument(media=PDF)),
        out(OutDocument(media=other, caption="c")),
    ])  # fmt: skip
    assert [m.body for m in merged] == [
        OutDocument(media=PDF, caption="a\n\nb"),
        OutDocument(media=other, caption="c"),
    ]
    assert coalesce([out(OutText(text="x")), out(OutText(text="y"))])[0].body == OutText(
        text="x\n\ny"
    )
    assert coalesce([]) == []


def test_options_and_places_read_as_text() -> None:
    buttons = OutButtons(
        text="¿Cuál?", buttons=[Button(id="a", title="Doble"), Button(id="b", title="Twin")]
    )
    assert body_text(buttons) == "¿Cuál?\n\n1. Doble\n2. Twin"
    listing = OutList(text="Opciones", button="Ver", sections=[ListSection(title="s", rows=[
        ListRow(id="1", title="Suite", description="ARS 1"), ListRow(id="2", title="Triple")])])  # fmt: skip
    assert body_text(listing) == "Opciones\n\n1. Suite (ARS 1)\n2. Triple"
    place = body_text(OutLocation(latitude=-37.3, longitude=-59.1, name="Hotel", address="Av. 1"))
    assert place.splitlines() == [
        "Hotel",
        "Av. 1",
        "https://www.google.com/maps/search/?api=1&query=-37.300000,-59.100000",
    ]


def test_the_dedupe_key_is_the_message_id_else_the_mailbox_uid() -> None:
    assert provider_id_of(None, "box:1:7") == "box:1:7"
    long_id = "<" + "x" * 300 + "@y>"

    class Mail:
        message_id = long_id

    key = provider_id_of(Mail(), "box:1:7")  # type: ignore[arg-type]
    assert key.startswith("sha256:") and len(key) <= 255
