"""Guest-facing texts per language: es (Rioplatense, voseo), en, pt (Brazilian)."""

from __future__ import annotations

__all__ = ["CATALOG", "LANGUAGES"]

LANGUAGES = ("es", "en", "pt")

CATALOG: dict[str, dict[str, str]] = {
    "es": {
        "ack.first": "¡Hola! Te escribe el asistente virtual de {hotel}. Recibimos tu mensaje y ya lo estamos viendo.",
        "ack.text": "Recibido, gracias. Lo estamos viendo.",
        "ack.other": "Recibimos lo que nos mandaste, gracias. Si querés, contanos en un mensaje de texto qué necesitás.",
    },
    "en": {
        "ack.first": "Hi! This is {hotel}'s virtual assistant. We got your message and are on it.",
        "ack.text": "Got it, thanks. We're looking into it.",
        "ack.other": "We received what you sent, thanks. Feel free to tell us in a text message what you need.",
    },
    "pt": {
        "ack.first": "Olá! Aqui é o assistente virtual do {hotel}. Recebemos sua mensagem e já estamos vendo.",
        "ack.text": "Recebido, obrigado. Já estamos vendo.",
        "ack.other": "Recebemos o que você enviou, obrigado. Se quiser, conte numa mensagem de texto o que precisa.",
    },
}
