"""Granularity policies (R6): how the elapsed time of a piece becomes billed seconds."""

from __future__ import annotations

import re
from dataclasses import dataclass

_CUSTOM = re.compile(r"^slices-(\d+)s(?:-min-(\d+)s)?$")


class PolicyError(ValueError):
    """A policy name that means nothing."""


@dataclass(frozen=True, slots=True)
class Policy:
    name: str
    slice_seconds: int
    minimum_seconds: int

    def __post_init__(self) -> None:
        if self.slice_seconds < 1 or self.minimum_seconds < 0:
            raise PolicyError("a slice is at least 1 s and a minimum is not negative")

    def billed_seconds(self, elapsed_micros: int) -> int:
        """R6: ceil(elapsed / slice) * slice, at least `minimum`, and 0 when nothing elapsed."""
        if elapsed_micros <= 0:
            return 0
        slice_micros = self.slice_seconds * 1_000_000
        slices = -(-elapsed_micros // slice_micros)
        return max(slices * self.slice_seconds, self.minimum_seconds)

    @classmethod
    def custom(cls, slice_seconds: int, minimum_seconds: int = 0) -> Policy:
        for known in NAMED.values():
            if (known.slice_seconds, known.minimum_seconds) == (slice_seconds, minimum_seconds):
                return known
        name = f"slices-{slice_seconds}s" + (f"-min-{minimum_seconds}s" if minimum_seconds else "")
        return cls(name, slice_seconds, minimum_seconds)


PER_SECOND = Policy("per-second", 1, 0)
TEN_MINUTE_SLICES = Policy("10-minute-slices", 600, 0)
PER_SECOND_MIN_60 = Policy("per-second-min-60", 1, 60)
NAMED: dict[str, Policy] = {p.name: p for p in (PER_SECOND, TEN_MINUTE_SLICES, PER_SECOND_MIN_60)}
DEFAULT_POLICY = PER_SECOND
FORMER_POLICY = TEN_MINUTE_SLICES


def policy(name: str) -> Policy:
    """A named policy, or any (slice, minimum) pair written `slices-300s-min-60s`."""
    if name in NAMED:
        return NAMED[name]
    match = _CUSTOM.match(name)
    if match:
        return Policy.custom(int(match[1]), int(match[2] or 0))
    known = ", ".join(NAMED)
    raise PolicyError(f"unknown policy {name!r}: use one of {known} or slices-<N>s[-min-<M>s]")
