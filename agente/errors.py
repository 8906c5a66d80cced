"""Every exception Agente raises on purpose.

    AgenteError
    ├── ConfigError            a setting is missing or malformed (names the variable)
    ├── PluginError            the plugin registry cannot satisfy the enabled plugins
    ├── MessageRejected        an inbound payload is malformed (becomes a 4xx, never a 500)
    ├── UnknownHotel           no hotel owns the identity a message arrived on
    ├── ChannelError           a channel could not deliver an outbound message
    │   └── PermanentChannelError   retrying will not help (dead-letter at once)
    └── PmsError               the PMS answered with an error (typed, see below)
        ├── NotAvailable       nothing free for the stay asked
        ├── PriceChanged       the quoted price no longer holds
        ├── NotFound           booking, room type or hotel unknown to the PMS
        ├── AuthFailed         credentials rejected
        ├── RateLimited        slow down; ``retry_after`` seconds
        ├── Transient          try again later (timeouts, 5xx, injected failures)
        ├── Permanent          the request itself is wrong; do not retry
        └── Unsupported        the plugin lacks this capability

Only ``Transient`` and ``RateLimited`` are retried, and PMS writes only after a lookup by
``client_reference``.
"""

from __future__ import annotations

__all__ = [
    "AgenteError",
    "AuthFailed",
    "ChannelError",
    "ConfigError",
    "MessageRejected",
    "NotAvailable",
    "NotFound",
    "Permanent",
    "PermanentChannelError",
    "PluginError",
    "PmsError",
    "PriceChanged",
    "RateLimited",
    "Transient",
    "UnknownHotel",
    "Unsupported",
]


class AgenteError(Exception):
    """Base of every error Agente raises on purpose."""


class ConfigError(AgenteError):
    """A setting is missing or malformed. ``variable`` names the environment variable."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


class PluginError(AgenteError):
    """An enabled plugin is not installed, is installed twice, or failed to load."""


class MessageRejected(AgenteError):
    """An inbound payload cannot be accepted. ``status`` is the HTTP status to answer."""

    def __init__(self, reason: str, *, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class UnknownHotel(AgenteError):
    """No hotel is configured for the identity (page, phone number id, mailbox) a message used."""


class ChannelError(AgenteError):
    """A channel failed to deliver; the outbox retries with backoff.

    ``retry_after`` (seconds), when the provider said how long to wait (a rate limit), is the
    least the outbox waits before the next attempt.
    """

    def __init__(self, message: str = "", *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentChannelError(ChannelError):
    """A channel failure that no retry can fix; the message goes to the dead-letter table."""


class PmsError(AgenteError):
    """The PMS answered with an error."""

    retryable = False


class NotAvailable(PmsError):
    """Nothing free for the requested stay."""


class PriceChanged(PmsError):
    """The price quoted earlier no longer holds."""


class NotFound(PmsError):
    """The booking, room type or hotel is unknown to the PMS."""


class AuthFailed(PmsError):
    """The PMS rejected our credentials."""


class RateLimited(PmsError):
    """The PMS asks us to slow down for ``retry_after`` seconds."""

    retryable = True

    def __init__(self, message: str = "rate limited", *, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Transient(PmsError):
    """A failure that may pass: timeouts, 5xx, connection resets."""

    retryable = True


class Permanent(PmsError):
    """The request is wrong and will stay wrong."""


class Unsupported(PmsError):
    """The plugin does not offer this operation (see its capabilities)."""
