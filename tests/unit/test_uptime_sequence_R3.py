"""The columnar engine's instance event sequence (batch.uptime._in_sequence) against R3
written out in Python: each instance's events by time, a stop before a start at the
same instant, then by (source, id); each event with the type before it and the type
and time after it, within its own instance only."""

from __future__ import annotations

from itertools import groupby
from typing import Any

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from bysecond.batch.load import _SCHEMA as EVENT_COLUMNS
from bysecond.batch.uptime import _in_sequence

END_US = {"org-a": 50, "org-b": 40}  # org-z is read along but is not in the shard
TYPES = ["instance.started", "instance.stopped", "addon.provisioned"]

event_rows = st.lists(
    st.tuples(
        st.sampled_from(["org-a", "org-b", "org-z"]),
        st.integers(0, 60),  # few instants: many ties
        st.sampled_from(TYPES),
        st.sampled_from(["//platform/a", "//platform/b"]),
        st.sampled_from(["i-1", "i-2", "i-10"]),
    ),
    max_size=60,
)


def _events(rows: list[tuple[str, int, str, str, str]]) -> pa.Table:
    # Ids unique per source, numbered against the order of the rows: the sequence must
    # not follow the order the events were read in.
    return pa.table(
        {
            "organization_id": [r[0] for r in rows],
            "time_us": pa.array([r[1] for r in rows], pa.int64()),
            "type": [r[2] for r in rows],
            "source": [r[3] for r in rows],
            "id": [f"e-{len(rows) - n:03d}" for n in range(len(rows))],
            "resource_id": [r[4] for r in rows],
            "document": ["{}"] * len(rows),
        },
        schema=EVENT_COLUMNS,
    )


def _orgs() -> pa.Table:
    return pa.table(
        {
            "organization_id": list(END_US),
            "end_us": pa.array(list(END_US.values()), pa.int64()),
        }
    )


def _expected(events: pa.Table) -> list[dict[str, Any]]:
    wanted = [
        e
        for e in events.to_pylist()
        if e["type"] in TYPES[:2]
        and e["organization_id"] in END_US
        and e["time_us"] < END_US[e["organization_id"]]
    ]

    def rank(e: dict[str, Any]) -> int:
        return 0 if e["type"] == "instance.stopped" else 1  # R3: the stop first

    def instance(e: dict[str, Any]) -> tuple[str, str]:
        return e["organization_id"], e["resource_id"]

    wanted.sort(key=lambda e: (*instance(e), e["time_us"], rank(e), e["source"], e["id"]))
    sequence = []
    for _, group in groupby(wanted, key=instance):
        runs = list(group)
        for n, e in enumerate(runs):
            before = runs[n - 1] if n else None
            after = runs[n + 1] if n + 1 < len(runs) else None
            sequence.append(
                {
                    "org": e["organization_id"],
                    "t": e["time_us"],
                    "type": e["type"],
                    "source": e["source"],
                    "id": e["id"],
                    "rank": rank(e),
                    "instance_id": e["resource_id"],
                    "document": e["document"],
                    "before_type": before and before["type"],
                    "next_type": after and after["type"],
                    "next_t": after and after["time_us"],
                }
            )
    return sequence


@settings(max_examples=300, deadline=None)
@given(event_rows)
def test_each_instance_in_R3_order_with_its_neighbours(rows: list[Any]) -> None:
    events = _events(rows)
    assert _in_sequence(events, _orgs()).to_pylist() == _expected(events)


def test_a_restart_at_the_instant_of_the_stop_follows_it() -> None:
    rows = [
        ("org-a", 10, "instance.started", "//platform/a", "i-1"),
        ("org-a", 20, "instance.started", "//platform/a", "i-1"),  # read before the stop
        ("org-a", 20, "instance.stopped", "//platform/a", "i-1"),
    ]
    sequence = _in_sequence(_events(rows), _orgs()).to_pylist()
    assert [(e["t"], e["type"], e["before_type"], e["next_t"]) for e in sequence] == [
        (10, "instance.started", None, 20),
        (20, "instance.stopped", "instance.started", 20),
        (20, "instance.started", "instance.stopped", None),
    ]
