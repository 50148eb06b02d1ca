"""The credit note document (R13): what it credits, its promotional share and VAT (R10-R12),
and its shape, which the renderers print as a credit note (type code 381)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

import facturx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from bysecond.core.money import currency, round_half_up
from bysecond.render import facturx_xml, render_html
from bysecond.render.facturx_xml import NAMESPACES
from bysecond.services.credit_note_document import (
    FULL,
    Credited,
    CreditedLines,
    CreditNoteError,
    credit_note_document,
    credited_amounts,
)
from tests.documents_fixtures import reverse_charged_invoice, typical_invoice

Document = dict[str, Any]
EUR = currency("EUR")
ISSUED = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
TOTALS = ("subtotal", "promotional_credits_applied", "taxable_amount", "vat_amount", "total")


def issue(invoice: Document, earlier: list[Document], what: CreditedLines) -> Document:
    """The next credit note of `invoice`, after `earlier` ones."""
    amounts = credited_amounts(invoice, Credited.of(earlier), what)
    return credit_note_document(
        invoice,
        amounts,
        credit_note_id=f"cn_{len(earlier) + 1}",
        number=f"2026-{100 + len(earlier):06d}",
        issued_at=ISSUED,
        reason="Refund",
        grant_id=f"grant_cn_{len(earlier) + 1}",
    )


def summed(notes: list[Document], key: str) -> Decimal:
    return sum((Decimal(note[key]) for note in notes), Decimal(0))


def test_R13_a_full_credit_note_credits_the_whole_invoice_its_discount_and_its_vat() -> None:
    invoice = typical_invoice()  # promotional credits, prepaid credit, a negative adjustment
    note = issue(invoice, [], FULL)
    assert [note[key] for key in TOTALS] == [invoice[key] for key in TOTALS]
    assert (note["type"], note["status"], note["number"]) == (
        "credit_note",
        "finalized",
        "2026-000100",
    )
    assert (note["corrects_invoice"], note["corrects_invoice_id"]) == (
        invoice["number"],
        invoice["id"],
    )
    assert note["amount_due"] == note["total"]  # what is credited back
    assert note["prepaid_credits_applied"] == "0.00"
    assert [line["id"] for line in note["lines"]] == [line["id"] for line in invoice["lines"]]
    # Credited in full, a line keeps the details that add up to it (R8).
    assert note["lines"][0]["details"] == invoice["lines"][0]["details"]
    assert note["lines"][7]["corrects_period"] == "2026-09"
    for key in ("period", "seller", "buyer", "currency", "vat_rate", "reverse_charge"):
        assert note[key] == invoice[key]


def test_R11_R12_a_partial_credit_takes_its_share_of_the_discount_then_vat_rounded_once() -> None:
    invoice = typical_invoice()  # subtotal 203.90, promotional 26.40, VAT rate 0.20
    note = issue(invoice, [], ("L006", "45.00"))
    share = round_half_up(Fraction("45.00") * Fraction("26.40") / Fraction("203.90"), EUR)
    assert Decimal(note["promotional_credits_applied"]) == share == Decimal("5.83")
    taxable = Decimal("45.00") - share
    assert note["taxable_amount"] == str(taxable)
    assert Decimal(note["vat_amount"]) == round_half_up(Fraction(taxable) * Fraction("0.20"), EUR)
    assert Decimal(note["total"]) == taxable + Decimal(note["vat_amount"])
    (line,) = note["lines"]
    assert (line["id"], line["kind"], line["amount"], line["invoiced_amount"]) == (
        "L006",
        "task",
        "45.00",
        "90.00",
    )
    assert line["details"] == [] and line["description"].startswith("Partial credit: ")
    assert note["totals_by_kind"]["task"] == "45.00"


def test_R13_a_line_is_credited_until_exhausted_then_refused() -> None:
    invoice = typical_invoice()
    notes = [issue(invoice, [], ("L004", "20.00"))]
    with pytest.raises(CreditNoteError, match=r"L004 .* 20\.00 already credited: at most 2\.03"):
        issue(invoice, notes, ("L004", "2.04"))
    notes.append(issue(invoice, notes, ("L004", "2.03")))
    with pytest.raises(CreditNoteError, match="already credited in full"):
        issue(invoice, notes, ("L004", "0.01"))
    rest = issue(invoice, notes, FULL)
    assert "L004" not in [line["id"] for line in rest["lines"]]
    for key in TOTALS:  # the three together are the whole invoice, to the cent
        assert summed([*notes, rest], key) == Decimal(invoice[key])
    with pytest.raises(CreditNoteError, match=r"already credited in full \(213\.00 of 213\.00"):
        issue(invoice, [*notes, rest], FULL)


@pytest.mark.parametrize(
    ("what", "message"),
    [
        (("L009", "1.00"), "has no line 'L009': its lines are L001 to L008"),
        (("L001", "0"), "must be more than 0"),
        (("L001", "-5.00"), "must be more than 0"),
        (("L001", "1.005"), "more than 2 decimals"),
        (("L001", "ten"), "not a decimal number"),
        (("L001", "59.58"), "at most 59.57 can be credited on it, not 59.58"),
        (("L008", "0.42"), "L008 of invoice 2026-000042 is -0.42 EUR: there is nothing to credit"),
    ],
)
def test_R13_bad_credits_are_refused_with_the_reason(what: CreditedLines, message: str) -> None:
    with pytest.raises(CreditNoteError, match=message):
        issue(typical_invoice(), [], what)


def test_R13_lines_never_credit_more_than_the_invoice_even_past_a_negative_adjustment() -> None:
    invoice = typical_invoice()  # L008 is -0.42: the positive lines add up to 204.32
    notes: list[Document] = []
    for line in invoice["lines"][:6]:
        notes.append(issue(invoice, notes, (line["id"], line["amount"])))
    with pytest.raises(CreditNoteError, match=r"has 8\.43 EUR left to credit in all, not 8\.85"):
        issue(invoice, notes, ("L007", "8.85"))


def test_R11_a_reverse_charged_invoice_is_credited_without_vat_and_with_its_mention() -> None:
    invoice = reverse_charged_invoice()
    note = issue(invoice, [], FULL)
    assert (note["vat_rate"], note["vat_amount"], note["reverse_charge"]) == ("0", "0.00", True)
    assert note["vat_mention"] == invoice["vat_mention"]
    assert note["total"] == invoice["total"]
    root = etree.fromstring(facturx_xml(note))
    assert root.xpath(
        "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:CategoryCode/text()",
        namespaces=NAMESPACES,
    ) == ["AE"]


def test_R13_the_document_is_a_credit_note_the_renderers_print_as_such() -> None:
    invoice = typical_invoice()
    note = issue(invoice, [issue(invoice, [], ("L001", "10.00"))], FULL)
    xml = facturx_xml(note)
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
    root = etree.fromstring(xml)

    def one(path: str) -> str:
        (value,) = root.xpath(path + "/text()", namespaces=NAMESPACES)
        return str(value)

    totals = "//ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:"
    assert one("//rsm:ExchangedDocument/ram:TypeCode") == "381"
    assert one("//ram:InvoiceReferencedDocument/ram:IssuerAssignedID") == "2026-000042"
    assert one(totals + "LineTotalAmount") == note["subtotal"]
    assert one(totals + "AllowanceTotalAmount") == note["promotional_credits_applied"]
    assert one(totals + "TaxBasisTotalAmount") == note["taxable_amount"]
    assert one(totals + "TaxTotalAmount") == note["vat_amount"]
    assert one(totals + "GrandTotalAmount") == note["total"]
    assert one(totals + "DuePayableAmount") == note["amount_due"] == note["total"]
    html = render_html(note)  # StrictUndefined: a field the template needs is missing
    assert "Credit note" in html and "2026-000042" in html and "Partial credit" in html


# A run of partial credit notes, then the rest: never more than the invoice, never a
# drift, and exactly the invoice's totals in the end (R11, R12, invariant 5's spirit).
credits = st.lists(
    st.tuples(st.integers(min_value=0, max_value=6), st.integers(min_value=1, max_value=400)),
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(credits)
def test_R12_partial_credit_notes_add_up_to_the_invoice_to_the_cent(
    pieces: list[tuple[int, int]],
) -> None:
    invoice = typical_invoice()
    notes: list[Document] = []
    for index, cents in pieces:
        line = invoice["lines"][index]
        try:
            notes.append(issue(invoice, notes, (line["id"], str(Decimal(cents).scaleb(-2)))))
        except CreditNoteError:
            continue  # more than is left, or a part the promotional credits paid for
        note = notes[-1]
        own_vat = round_half_up(Fraction(note["taxable_amount"]) * Fraction("0.20"), EUR)
        assert abs(Decimal(note["vat_amount"]) - own_vat) <= Decimal("0.01")
        assert Decimal(note["total"]) > 0
        for key in TOTALS:
            assert Decimal(note[key]) >= 0
            assert summed(notes, key) <= Decimal(invoice[key])
    try:
        notes.append(issue(invoice, notes, FULL))
    except CreditNoteError as error:
        assert "nothing" in str(error)
    for key in TOTALS:
        assert summed(notes, key) == Decimal(invoice[key])
