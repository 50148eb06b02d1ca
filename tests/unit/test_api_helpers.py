"""Small pieces of the HTTP API: cursors, content negotiation, authorisation requests."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, get_args

import pytest

from bysecond.api.routes.invoices import _negotiated
from bysecond.api.schemas.events import EventType
from bysecond.core.events import EVENT_TYPES
from bysecond.services.estimates import RequestError, requested
from bysecond.services.invoice_pages import CursorError, decode_cursor, encode_cursor
from bysecond.services.keys import KEY_PREFIX, Principal, key_hash
from bysecond.settings import Settings, SettingsError


def test_a_cursor_reads_back_the_period_it_was_written_for() -> None:
    cursor = encode_cursor("2026-09")
    assert decode_cursor(cursor) == "2026-09"
    assert "2026" not in cursor  # opaque: clients are not invited to build their own


@pytest.mark.parametrize("cursor", ["", "!!!", encode_cursor("2026-9"), "eyJiZWZvcmUiOjF9"])
def test_a_cursor_this_api_did_not_write_is_refused(cursor: str) -> None:
    with pytest.raises(CursorError):
        decode_cursor(cursor)


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, "application/json"),
        ("*/*", "application/json"),
        ("text/html", "text/html"),
        ("application/pdf;q=0.5, text/html;q=0.9", "text/html"),
        ("application/pdf, text/html;q=0.1", "application/pdf"),
        ("image/png", "application/json"),
        ("text/html;q=oops", "application/json"),
    ],
)
def test_the_invoice_form_follows_the_accept_header(accept: str | None, chosen: str) -> None:
    assert _negotiated(accept) == chosen


def test_an_authorisation_request_names_one_price_key() -> None:
    assert requested(flavor="M").price_key == "instance.M"
    addon = requested(addon=("postgresql", "m"), duration_seconds=3600)
    assert (addon.price_key, addon.duration) == ("addon.postgresql.m", timedelta(hours=1))
    assert requested(price_key="addon.redis.s").price_key == "addon.redis.s"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({}, "body"),
        ({"flavor": "M", "price_key": "instance.M"}, "body"),
        ({"price_key": "usage.outbound-traffic"}, "price_key"),
        ({"flavor": "M x"}, "flavor"),
        ({"addon": ("postgresql", "../m")}, "addon.plan"),
        ({"flavor": "M", "duration_seconds": 0}, "duration_seconds"),
    ],
)
def test_a_request_that_means_nothing_names_its_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(RequestError) as refused:
        requested(**kwargs)
    assert refused.value.field == field


def test_a_key_is_kept_as_its_sha256_and_an_org_key_sees_its_org_only() -> None:
    assert len(key_hash(KEY_PREFIX + "x")) == 64
    assert key_hash("a") != key_hash("b")
    assert Principal("k", None).may_see("org-a") and Principal("k", None).is_operator
    assert Principal("k", "org-a").may_see("org-a")
    assert not Principal("k", "org-a").may_see("org-b")


def test_the_documented_event_types_are_the_ones_ingestion_knows() -> None:
    assert set(get_args(EventType)) == set(EVENT_TYPES)


def test_the_body_limit_is_a_validated_setting() -> None:
    assert Settings().max_body_bytes == 10 * 1024 * 1024
    chosen = Settings.from_environment({"BYSECOND_API_MAX_BODY_BYTES": "2048"})
    assert chosen.max_body_bytes == 2048
    for wrong in ("ten", "10", str(2 * 1024**3)):
        with pytest.raises(SettingsError, match=r"BYSECOND_API_MAX_BODY_BYTES|between"):
            Settings.from_environment({"BYSECOND_API_MAX_BODY_BYTES": wrong})
