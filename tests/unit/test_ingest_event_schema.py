"""The msgspec edge validation (`services.event_schema`) against the reference,
`core.events.parse_event`: the same verdict, refusal and stored row for any input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bysecond.core.catalog import default_catalog
from bysecond.core.events import EVENT_TYPES, parse_event, stored_event
from bysecond.services.event_rows import prepare_chunk
from bysecond.services.event_schema import NotFast, fast_event
from bysecond.services.pricing import PriceCheck

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
PRICES = PriceCheck.of(default_catalog(), {"org-dollar": "USD"})
MISSING = object()  # a field left out

# Values of any JSON type, and the strings the rules are about: blank, NUL, trailing
# newline (which `$` lets through), unicode spaces, lookalike decimals.
AWKWARD_TEXT = st.sampled_from(
    ["", " ", "\t\n", "\x00", "a\x00", "org-1\n", "x\n", "\u2028", "\x1c", "\u00a0", "é", "a b"]
)
JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(),
    st.text(max_size=5),
    AWKWARD_TEXT,
    st.lists(st.integers(0, 3), max_size=2),
    st.dictionaries(st.sampled_from(["a", "instance_id"]), st.integers(0, 3), max_size=1),
)
IDENTS = st.one_of(
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.:@-]{0,8}", fullmatch=True),
    st.sampled_from(["i-1", "app-shop", "a" * 128, "a" * 129, "-x", "x y", "x\n", "org-acme"]),
)
NAMES = st.one_of(
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,6}", fullmatch=True),
    st.sampled_from(["M", "XS", "postgresql", "s", "a" * 64, "a" * 65, "x:y", "+x"]),
)
TEXTS = st.one_of(st.text(max_size=6), AWKWARD_TEXT)
NUMBERS = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True, places=3).map(str),
    st.integers(-5, 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["1.5", "-0", "-1", " 2 ", "1_000", "1e3", "NaN", "-Infinity", "x", "", "٣"]),
)
TIMES = st.one_of(
    st.datetimes(
        min_value=datetime(1, 1, 2),
        max_value=datetime(9999, 12, 30),
        timezones=st.sampled_from([UTC, None]) | st.timezones(),
    ).map(lambda t: t.isoformat()),
    st.sampled_from(
        [
            "2026-10-03T12:00:00Z",
            "2026-10-03T12:00:00.123456789Z",
            "2026-10-03t12:00:00z",
            "2026-10-03 12:00:00+02:00",
            "2026-10-03",
            "2026-10-03T12:00:00",
            "20261003T120000Z",
            "2026-W40-5T12:00Z",
            "0001-01-01T00:30:00+01:00",
            "9999-12-31T23:59:59-01:00",
            "2026-11-24T12:05:00Z",  # exactly 5 minutes ahead of NOW: accepted
            "2026-11-24T12:05:00.000001Z",  # just beyond: refused
            "2099-01-01T00:00:00Z",
            "not a time",
        ]
    ),
)


# Valid values, from which events are built before they are spoiled.
GOOD_IDENTS = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.:@-]{0,8}", fullmatch=True)
GOOD_NAMES = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,6}", fullmatch=True)
GOOD_TEXTS = st.text(min_size=1, max_size=6).filter(lambda t: t.strip() and "\x00" not in t)
GOOD_NUMBERS = st.one_of(
    st.decimals(min_value=0, max_value=10**9, places=3).map(str),
    st.integers(0, 10**12),
    st.floats(min_value=0, max_value=1e9),
)
GOOD_TIMES = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2026, 11, 24),
    timezones=st.just(UTC) | st.timezones(),
).map(lambda t: t.isoformat().replace("+00:00", "Z"))
OPTIONAL_TEXT = st.one_of(st.none(), GOOD_TEXTS, st.just(MISSING))

DATA_FIELDS: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "instance.started": {
        "instance_id": GOOD_IDENTS,
        "application_id": GOOD_IDENTS,
        "flavor": GOOD_NAMES,
        "role": st.sampled_from(["run", "build"]),
        "application_name": OPTIONAL_TEXT,
        "zone": OPTIONAL_TEXT,
    },
    "instance.stopped": {"instance_id": GOOD_IDENTS},
    "addon.provisioned": {
        "addon_id": GOOD_IDENTS,
        "provider": GOOD_NAMES,
        "plan": GOOD_NAMES,
        "name": OPTIONAL_TEXT,
    },
    "addon.plan_changed": {
        "addon_id": GOOD_IDENTS,
        "plan": GOOD_NAMES,
        "provider": st.one_of(st.none(), GOOD_NAMES, st.just(MISSING)),
    },
    "addon.deleted": {"addon_id": GOOD_IDENTS},
    "task.performed": {
        "task_id": GOOD_IDENTS,
        "description": GOOD_TEXTS,
        # either amount, or price_key and quantity (one of them is taken out below)
        "amount": GOOD_NUMBERS.map(str),
        "price_key": st.from_regex(r"task\.[a-z]{1,5}", fullmatch=True),
        "quantity": GOOD_NUMBERS,
    },
    "usage.reported": {"resource_id": GOOD_IDENTS, "meter": GOOD_NAMES, "quantity": GOOD_NUMBERS},
}
ENVELOPE_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "specversion": st.just("1.0"),
    "id": st.one_of(GOOD_IDENTS, GOOD_TEXTS),
    "source": st.one_of(st.just("//platform/orchestrator"), GOOD_TEXTS),
    "time": GOOD_TIMES,
    "subject": st.one_of(GOOD_IDENTS, st.just("org-dollar")),
}
# What a spoiled field gets: values near its rule (which the rule may or may not allow)
# or anything at all.
BAD_IDENTS = st.one_of(
    st.sampled_from(["a" * 129, "-x", "x y", "x\n", "", " ", "é", "x\x00", "_a", "a/b"]),
    IDENTS,
)
BAD_NAMES = st.one_of(st.sampled_from(["a" * 65, "x:y", "+x", "x@y", "x\n", "", "-"]), NAMES)
BAD_NUMBERS = st.one_of(
    st.sampled_from(["-1", "-0.001", -1, -0.5, "NaN", "Infinity", "x", "", True, "-0", "1e3"]),
    NUMBERS,
)
_NEAR = {"id": TEXTS, "source": TEXTS, "time": TIMES, "subject": BAD_IDENTS, "data": JUNK}
_NEAR |= dict.fromkeys(
    ["instance_id", "application_id", "addon_id", "task_id", "resource_id"], BAD_IDENTS
)
_NEAR |= dict.fromkeys(["flavor", "provider", "plan", "meter"], BAD_NAMES)
_NEAR |= dict.fromkeys(["description", "application_name", "zone", "name"], TEXTS)
_NEAR |= dict.fromkeys(["amount", "quantity"], BAD_NUMBERS)
_NEAR |= {
    "price_key": st.sampled_from(["task.x", "task.", "x", "task.x\x00", " "]),
    "role": st.sampled_from(["run", "build", "Run", "run ", ""]),
    "specversion": st.sampled_from(["1.0", "1.1", "1", " 1.0"]),
    "type": st.sampled_from([*EVENT_TYPES, "instance.Started", "x"]),
    "datacontenttype": st.sampled_from(["application/json", "text/plain", "", None]),
}
ANY_VALUE = st.one_of(JUNK, IDENTS, NAMES, TEXTS, NUMBERS, TIMES)


def spoiled(name: str) -> st.SearchStrategy[Any]:
    near = _NEAR.get(name, JUNK)
    return st.one_of(near, near, near, st.just(MISSING), ANY_VALUE)


@st.composite
def events(draw: st.DrawFn, *, valid_only: bool = False) -> dict[str, Any]:
    """A CloudEvent made of valid values; unless `valid_only`, then wrong in a few places
    (a field left out, or given a value of any kind), so that near-valid events are
    common."""
    kind = draw(st.sampled_from(EVENT_TYPES))
    fields = DATA_FIELDS[kind]
    data = {name: draw(strategy) for name, strategy in fields.items()}
    raw: dict[str, Any] = {name: draw(strategy) for name, strategy in ENVELOPE_FIELDS.items()}
    raw |= {"type": kind, "datacontenttype": "application/json", "data": data}
    if draw(st.booleans()):
        del raw["datacontenttype"]
    if kind == "task.performed":
        if draw(st.booleans()):
            del data["amount"]
        else:
            del data["price_key"]
            if draw(st.booleans()):
                del data["quantity"]
    if draw(st.booleans()):
        data["extra"] = draw(JUNK)
    if not valid_only:
        paths = [*(("", name) for name in [*ENVELOPE_FIELDS, "type", "data"])]
        paths += [("data", name) for name in fields]
        for _ in range(draw(st.sampled_from([0, 1, 1, 1, 1, 2]))):
            where, name = draw(st.sampled_from(paths))  # every field as often
            target = data if where and isinstance(raw.get("data"), dict) else raw
            value = draw(spoiled(name))
            if value is MISSING:
                target.pop(name, None)
            else:
                target[name] = value
    return {key: value for key, value in raw.items() if value is not MISSING} | (
        {"data": {k: v for k, v in data.items() if v is not MISSING}}
        if raw.get("data") is data
        else {}
    )


def _lines(raws: list[dict[str, Any]], shuffle: bool) -> list[bytes]:
    """JSON lines; keys shuffled (reversed) for some, as a producer may send them."""
    if shuffle:
        raws = [dict(reversed(list(raw.items()))) for raw in raws]
    return [orjson.dumps(raw) for raw in raws]


def _both(items: list[Any]) -> tuple[Any, Any]:
    """prepare_chunk through the fast path and through the reference alone: each chunk,
    or the exception it raised."""
    answers = []
    for fast in (True, False):
        try:
            answers.append(prepare_chunk(items, NOW, PRICES, fast=fast))
        except Exception as error:  # the reference's own failures must be the same
            answers.append((type(error), str(error)))
    return answers[0], answers[1]


@settings(max_examples=2500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raws=st.lists(events(), min_size=1, max_size=3), shuffle=st.booleans())
def test_the_fast_path_gives_the_reference_verdict_refusal_and_row(
    raws: list[dict[str, Any]], shuffle: bool
) -> None:
    items = _lines(raws, shuffle)
    items.append(items[0])  # a repeat of the first item, judged alike
    fast, reference = _both(items)
    assert fast == reference


@settings(max_examples=300, deadline=None)
@given(raw=events(valid_only=True))
def test_valid_events_take_the_fast_path_and_give_the_reference_row(raw: dict[str, Any]) -> None:
    """Valid events go through msgspec: the equivalence above is not won by refusing."""
    line = orjson.dumps(raw)
    try:
        parse_event(raw, now=NOW)
    except Exception:  # the generator's valid values can still combine into a refusal
        with pytest.raises(NotFast):
            fast_event(line, orjson.loads(line), NOW)
        return
    struct, kind, instant = fast_event(line, orjson.loads(line), NOW)  # no NotFast
    reference = parse_event(raw, now=NOW)
    assert (kind, instant, struct.subject, struct.id) == (
        reference.type,
        reference.time,
        reference.organization_id,
        reference.id,
    )
    assert prepare_chunk([line], NOW, PRICES) == prepare_chunk([line], NOW, PRICES, fast=False)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=events())
def test_a_stored_document_reads_back_as_the_event_the_reference_accepted(
    raw: dict[str, Any],
) -> None:
    """`stored_event` converts without checking: for every event `parse_event` accepts,
    its stored document (canonical JSON) must give the very same `Event`."""
    try:
        reference = parse_event(raw)
    except Exception:
        return  # never stored: nothing to read back
    document = orjson.loads(orjson.dumps(raw, option=orjson.OPT_SORT_KEYS))
    assert stored_event(document) == reference


def _event(**changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "specversion": "1.0",
        "id": "e-1",
        "source": "//p",
        "type": "usage.reported",
        "time": "2026-10-03T12:00:00Z",
        "subject": "org-acme",
        "data": {"resource_id": "app-1", "meter": "traffic", "quantity": "1.5"},
    }
    return raw | changes


@pytest.mark.parametrize(
    "line",
    [
        # JSON both decoders read alike, or where the reference decides alone.
        b'{"specversion":"1.0","id":"e-1","id":"e-2","source":"//p","type":"instance.stopped",'
        b'"time":"2026-10-03T12:00:00Z","subject":"org-a","data":{"instance_id":"i-1"}}',
        b'{"specversion":"1.0","id":"e-1","source":"//p","type":"instance.stopped",'
        b'"type":"addon.deleted","time":"2026-10-03T12:00:00Z","subject":"org-a",'
        b'"data":{"instance_id":"i-1","addon_id":"a-1"}}',
        b'{"specversion":"1.0","id":"e-1","source":"//p","type":"usage.reported",'
        b'"time":"2026-10-03T12:00:00Z","subject":"org-a",'
        b'"data":{"resource_id":"r","meter":"m","quantity":123456789012345678901234567890}}',
        b'{"specversion":"1.0","id":"e-1","source":"//p","type":"usage.reported",'
        b'"time":"2026-10-03T12:00:00Z","subject":"org-a",'
        b'"data":{"resource_id":"r","meter":"m","quantity":-123456789012345678901234567890}}',
        b'{"specversion":"1.0","id":"e-1","source":"//p","type":"usage.reported",'
        b'"time":"2026-10-03T12:00:00Z","subject":"org-a",'
        b'"data":{"resource_id":"r","meter":"m","quantity":1e400}}',
        b'{"specversion":"1.0","id":"\\ud800","source":"//p","type":"addon.deleted",'
        b'"time":"2026-10-03T12:00:00Z","subject":"org-a","data":{"addon_id":"a"}}',
        b'{"specversion":"1.0","id":"e-1","source":"//p","type":"addon.deleted",'
        b'"time":"2026-10-03T12:00:00Z","subject":"org-a","data":{"addon_id":"a"}}\n',
        b"   ",
        b"[1]",
        b"\xef\xbb\xbf{}",
        orjson.dumps(_event(id="e\x00")),
        orjson.dumps(_event(source=" \u2028")),
        orjson.dumps(_event(subject="org-1\n")),
        orjson.dumps(_event(time="0001-01-01T00:30:00+01:00")),
        orjson.dumps(_event(data={"resource_id": "r", "meter": "m", "quantity": True})),
        orjson.dumps(_event(data={"resource_id": "r", "meter": "m", "quantity": "1_0"})),
        orjson.dumps(_event(data={"resource_id": "r", "meter": "x:y", "quantity": "1"})),
        *(
            orjson.dumps(_event(type="task.performed", data=data))
            for data in (
                {"task_id": "t", "description": "d", "price_key": "backup", "quantity": 1},
                {"task_id": "t", "description": "d", "price_key": "task.\x00", "quantity": 1},
                {"task_id": "t", "description": "d", "price_key": "task.b", "quantity": -1},
                {"task_id": "t", "description": "d", "price_key": "task.b", "amount": "1"},
                {"task_id": "t", "description": "d", "amount": "1", "quantity": [1]},
                {"task_id": "t", "description": "d", "amount": 1},
                {"task_id": "t", "description": " ", "amount": "1"},
            )
        ),
    ],
)
def test_awkward_lines_get_the_reference_answer(line: bytes) -> None:
    fast, reference = _both([line])
    assert fast == reference


def test_a_refusal_keeps_the_reference_field_and_message() -> None:
    raw = _event(time=(NOW + timedelta(minutes=6)).isoformat())
    chunk = prepare_chunk([orjson.dumps(raw)], NOW, PRICES)
    (refusal,) = chunk.refusals
    assert refusal.field == "time"
    assert refusal.message.endswith("is more than 5 minutes in the future")
    with pytest.raises(NotFast):
        fast_event(orjson.dumps(raw), raw, NOW)


@example(text="a")
@given(text=st.text(max_size=4))
def test_free_text_rules_match_the_reference(text: str) -> None:
    raw = _event(id=text)
    line = orjson.dumps(raw)
    try:
        parse_event(raw, now=NOW)
    except Exception:
        with pytest.raises(NotFast):
            fast_event(line, raw, NOW)
    else:
        assert fast_event(line, raw, NOW)[0].id == text


def test_a_time_out_of_range_once_in_utc_is_refused_not_a_crash() -> None:
    raw = _event(time="0001-01-01T00:30:00+01:00")
    (refusal,) = prepare_chunk([orjson.dumps(raw)], NOW, PRICES).refusals
    assert (refusal.field, refusal.id) == ("time", "e-1")
    assert "out of range" in refusal.message
