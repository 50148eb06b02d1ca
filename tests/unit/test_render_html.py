"""The invoice page shows what the document says, in the buyer's language (R8-R15)."""

import copy
import re
from typing import Any

import pytest
from jinja2 import UndefinedError

from bysecond.render import render_html
from bysecond.render.formatting import Formatter, parse_locale
from tests.documents_fixtures import (
    credit_note,
    draft_invoice,
    reverse_charged_invoice,
    typical_invoice,
)

Document = dict[str, Any]


def formatter(document: Document) -> Formatter:
    locale = parse_locale(document["buyer"]["locale"])
    return Formatter(locale, document["currency"], document["period"]["time_zone"])


def test_the_summary_shows_every_total_of_the_document() -> None:
    document = typical_invoice()
    page, fmt = render_html(document), formatter(document)
    for field in ("subtotal", "taxable_amount", "vat_amount", "total", "amount_due"):
        assert fmt.money(document[field]) in page, field
    for field in ("promotional_credits_applied", "prepaid_credits_applied"):
        assert fmt.deduction(document[field]) in page, field
    for kind, value in document["totals_by_kind"].items():
        assert fmt.money(value) in page, kind
    assert "VAT 20%" in page
    assert "2026-000042" in page
    assert "November 1, 2026" in page


def test_the_typical_invoice_reads_as_expected() -> None:
    page = render_html(typical_invoice())
    assert "€163.00" in page  # amount due
    assert "-€26.40" in page  # promotional credits: welcome + part of an expiring grant
    assert "-€50.00" in page  # prepaid credits


def test_every_line_and_every_detail_is_shown() -> None:
    document = typical_invoice()
    page, fmt = render_html(document), formatter(document)
    for line in document["lines"]:
        assert line["description"] in page
        assert fmt.money(line["amount"]) in page
        for detail in line["details"]:
            if line["kind"] == "adjustment":
                assert fmt.money(detail["amount"]) in page
            else:
                assert fmt.exact(detail["amount"]) in page
            for key in ("instance_id", "addon_id", "task_id", "meter"):
                if key in detail:
                    assert detail[key] in page


def test_uptime_details_show_times_in_the_periods_time_zone_and_durations() -> None:
    document = typical_invoice()
    page, fmt = render_html(document), formatter(document)
    detail = document["lines"][0]["details"][2]  # the first build of the shop
    assert detail["role"] == "build"
    row = re.search(rf"<tr[^>]*><td[^>]*>{detail['instance_id']}</td>.*?</tr>", page, re.S)
    assert row is not None
    for text in (
        fmt.moment(detail["start"]),
        fmt.moment(detail["end"]),
        fmt.duration(detail["elapsed_seconds"]),
        fmt.number(detail["billed_seconds"]),
        fmt.price(detail["rate_per_hour"]),
        fmt.exact(detail["amount"]),
    ):
        assert text in row.group(0)


def test_the_credit_section_shows_free_and_prepaid_credits() -> None:
    document = typical_invoice()
    page, fmt = render_html(document), formatter(document)
    section = page[page.index('class="credit-summary"') :]
    section = section[: section.index("</table>")]
    promotional = document["credit_summary"]["promotional"]
    for key in ("available", "used", "expired", "remaining"):
        assert fmt.money(promotional[key]) in section
    assert "€8.60" in section  # what expired of the grant that ended mid-month


def test_the_former_rule_is_compared_and_its_direction_worded() -> None:
    document = typical_invoice()
    comparison = document["comparison"]
    assert comparison["difference"] == "-0.05"  # per-second is cheaper (subtotal - former)
    page = " ".join(render_html(document).split())
    assert "would have been <strong>€203.95</strong>" in page
    assert "Per-second billing saves you <strong>€0.05</strong>" in page
    comparison["difference"] = "0.05"
    costs = " ".join(render_html(document).split())
    assert "Per-second billing costs <strong>€0.05</strong> more" in costs
    fmt = formatter(document)
    for line in comparison["lines"]:
        assert fmt.money(line["amount"]) in page


def test_a_reverse_charged_invoice_carries_the_legal_mention_in_french() -> None:
    document = reverse_charged_invoice()
    page = render_html(document)
    assert document["vat_mention"] in page
    assert 'lang="fr"' in page
    assert "Facture" in page and "Net à payer" in page
    assert "TVA 0\u00a0%" in page
    assert "104,93\u00a0€" in page


def test_a_draft_says_so_and_has_no_number() -> None:
    document = draft_invoice()
    assert document["number"] is None
    page = render_html(document)
    assert "BROUILLON" in page and "non émise" in page
    assert 'class="watermark"' in page


def test_a_credit_note_names_the_invoice_it_corrects() -> None:
    page = render_html(credit_note())
    assert "<h1>Credit note</h1>" in page
    assert "Corrects invoice" in page and "2026-000042" in page
    assert "Amount credited" in page


def test_the_page_needs_nothing_from_the_network() -> None:
    page = render_html(typical_invoice())
    assert "<style>" in page and "@page" in page
    assert not re.search(r"""(https?:)?//[\w.-]+/|url\(|<link|<script|<img""", page)


def test_the_page_shows_what_the_document_says_and_computes_nothing() -> None:
    tampered = copy.deepcopy(typical_invoice())
    tampered["subtotal"] = "999.99"
    tampered["lines"][0]["amount"] = "1.23"
    page = render_html(tampered)
    assert "€999.99" in page and "€1.23" in page


def test_a_missing_field_is_an_error_not_a_blank() -> None:
    document = typical_invoice()
    del document["taxable_amount"]
    with pytest.raises(UndefinedError):
        render_html(document)
