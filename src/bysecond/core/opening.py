"""An `Opening` (core.metering) as it is stored with an organisation's period: compact
JSON, instants as microseconds since the epoch (R1: to the microsecond, in UTC).

The form carries a version: a replay whose state changes shape writes a new one, and
states of another version are not read (the period's events are replayed instead).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Final

import orjson

from .metering import Opening, Span
from .period import micros_between

OPENING_VERSION: Final = 1
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def micros(instant: datetime) -> int:
    return micros_between(_EPOCH, instant)


def instant(count: int) -> datetime:
    return _EPOCH + timedelta(microseconds=count)


def opening_json(opening: Opening) -> bytes:
    """The state without its instant, which is stored beside it."""
    return orjson.dumps(
        {
            "runs": {
                instance: [run.owner_id, run.price_key, run.role, micros(run.start)]
                for instance, run in sorted(opening.runs.items())
            },
            "intervals": {
                addon: [interval.price_key, micros(interval.start)]
                for addon, interval in sorted(opening.intervals.items())
            },
            "providers": dict(sorted(opening.providers.items())),
            "application_names": dict(sorted(opening.application_names.items())),
            "addon_names": dict(sorted(opening.addon_names.items())),
        }
    )


def opening_from_json(at: datetime, stored: bytes | str) -> Opening:
    document: dict[str, Any] = orjson.loads(stored)
    return Opening(
        at,
        {
            instance: Span(owner, price_key, role, instant(start))
            for instance, (owner, price_key, role, start) in document["runs"].items()
        },
        {
            addon: Span(addon, price_key, None, instant(start))
            for addon, (price_key, start) in document["intervals"].items()
        },
        dict(document["providers"]),
        dict(document["application_names"]),
        dict(document["addon_names"]),
    )
