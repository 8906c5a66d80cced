"""The real clock. Tests use ``agente.testing.FrozenClock`` instead."""

from __future__ import annotations

import datetime as dt

__all__ = ["SystemClock"]


class SystemClock:
    """``Clock`` on the system time, always UTC and timezone-aware."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)
