"""The Factur-X (EN 16931) XML says what the invoice document says (R8-R14)."""

import copy
from decimal import Decimal
from typing import Any

import facturx
import pytest
from lxml import etree

from bysecond.core.money import MoneyError
from bysecond.render import FacturXError, facturx_xml
from bysecond.render.facturx_xml import NAMESPACES
from tests.documents_fixtures import (
    credit_note,
    draft_invoice,
    reverse_charged_invoice,
    typical_invoice,
)

Document = dict[str, Any]
TOTALS = "//ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:"
HEADER_TAX = "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:"


def tree(document: Document) -> etree._Element:
    return etree.fromstring(facturx_xml(document))


def texts(root: etree._Element, xpath: str) -> list[str]:
    return [str(value) for value in root.xpath(xpath + "/text()", namespaces=NAMESPACES)]


def one(root: etree._Element, xpath: str) -> str:
    (value,) = texts(root, xpath)
    return value


def amount(root: etree._Element, xpath: str) -> Decimal:
    return Decimal(one(root, xpath))


@pytest.mark.parametrize("build", [typical_invoice, reverse_charged_invoice, credit_note])
def test_the_xml_is_valid_against_the_factur_x_en16931_schema(build: Any) -> None:
    assert facturx.xml_check_xsd(facturx_xml(build()), flavor="factur-x", level="en16931")


def test_the_xml_declares_the_en16931_level() -> None:
    root = tree(typical_invoice())
    assert facturx.get_level(root, "factur-x") == "en16931"


def test_line_totals_are_the_documents_line_amounts() -> None:
    document = typical_invoice()
    root = tree(document)
    assert texts(root, "//ram:AssociatedDocumentLineDocument/ram:LineID") == [
        line["id"] for line in document["lines"]
    ]
    assert texts(
        root, "//ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount"
    ) == [line["amount"] for line in document["lines"]]


def test_document_totals_are_the_documents_totals() -> None:
    document = typical_invoice()
    root = tree(document)
    assert one(root, TOTALS + "LineTotalAmount") == document["subtotal"]
    assert one(root, TOTALS + "AllowanceTotalAmount") == document["promotional_credits_applied"]
    assert one(root, TOTALS + "TaxBasisTotalAmount") == document["taxable_amount"]
    assert one(root, TOTALS + "TaxTotalAmount") == document["vat_amount"]
    assert one(root, TOTALS + "GrandTotalAmount") == document["total"]
    assert one(root, TOTALS + "TotalPrepaidAmount") == document["prepaid_credits_applied"]
    assert one(root, TOTALS + "DuePayableAmount") == document["amount_due"]
    assert root.xpath(TOTALS + "TaxTotalAmount/@currencyID", namespaces=NAMESPACES) == ["EUR"]


def test_the_vat_breakdown_is_the_documents_vat() -> None:
    document = typical_invoice()
    root = tree(document)
    assert one(root, HEADER_TAX + "BasisAmount") == document["taxable_amount"]
    assert one(root, HEADER_TAX + "CalculatedAmount") == document["vat_amount"]
    assert one(root, HEADER_TAX + "CategoryCode") == "S"
    assert one(root, HEADER_TAX + "RateApplicablePercent") == "20"
    assert set(texts(root, "//ram:CategoryCode")) == {"S"}


def test_promotional_credits_are_an_allowance_on_the_taxable_base() -> None:
    # R10/R11: a discount before VAT, in the same VAT category as the lines.
    document = typical_invoice()
    root = tree(document)
    allowance = "//ram:ApplicableHeaderTradeSettlement/ram:SpecifiedTradeAllowanceCharge/ram:"
    assert one(root, allowance + "ChargeIndicator/udt:Indicator") == "false"
    assert one(root, allowance + "ActualAmount") == document["promotional_credits_applied"]
    assert one(root, allowance + "CategoryTradeTax/ram:CategoryCode") == "S"
    assert one(root, allowance + "CategoryTradeTax/ram:RateApplicablePercent") == "20"


def test_an_invoice_without_promotional_credits_has_no_allowance() -> None:
    root = tree(credit_note())
    assert root.xpath("//ram:SpecifiedTradeAllowanceCharge", namespaces=NAMESPACES) == []
    assert one(root, TOTALS + "AllowanceTotalAmount") == "0.00"


def test_en16931_totals_add_up_in_the_xml() -> None:
    """BR-CO-10, BR-CO-13, BR-CO-15, BR-CO-16 and BR-S-08, on the XML alone."""
    for document in (typical_invoice(), reverse_charged_invoice(), credit_note()):
        root = tree(document)
        line_totals = sum(
            map(
                Decimal,
                texts(
                    root, "//ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount"
                ),
            )
        )
        lines = amount(root, TOTALS + "LineTotalAmount")
        allowances = amount(root, TOTALS + "AllowanceTotalAmount")
        basis = amount(root, TOTALS + "TaxBasisTotalAmount")
        tax = amount(root, TOTALS + "TaxTotalAmount")
        grand = amount(root, TOTALS + "GrandTotalAmount")
        prepaid = amount(root, TOTALS + "TotalPrepaidAmount")
        assert lines == line_totals
        assert basis == lines - allowances
        assert grand == basis + tax
        assert amount(root, TOTALS + "DuePayableAmount") == grand - prepaid
        assert amount(root, HEADER_TAX + "BasisAmount") == basis


def test_a_negative_adjustment_is_a_negative_quantity_at_a_positive_price() -> None:
    # R14 adjustments may be negative; EN 16931 forbids negative prices (BR-27).
    document = typical_invoice()
    negative = next(line for line in document["lines"] if line["amount"].startswith("-"))
    root = tree(document)
    item = root.xpath(
        "//ram:IncludedSupplyChainTradeLineItem[ram:AssociatedDocumentLineDocument"
        f"/ram:LineID='{negative['id']}']",
        namespaces=NAMESPACES,
    )[0]
    assert one(item, ".//ram:BilledQuantity") == "-1"
    assert one(item, ".//ram:ChargeAmount") == negative["amount"].lstrip("-")
    assert one(item, ".//ram:LineTotalAmount") == negative["amount"]
    assert one(item, ".//ram:IncludedNote/ram:Content") == "Corrects period 2026-09"


def test_a_reverse_charged_invoice_uses_category_ae_with_its_exemption() -> None:
    document = reverse_charged_invoice()
    root = tree(document)
    assert set(texts(root, "//ram:CategoryCode")) == {"AE"}
    assert set(texts(root, "//ram:RateApplicablePercent")) == {"0"}
    assert one(root, HEADER_TAX + "ExemptionReason") == "Reverse charge"
    assert one(root, HEADER_TAX + "ExemptionReasonCode") == "VATEX-EU-AE"
    assert one(root, HEADER_TAX + "CalculatedAmount") == "0.00"
    assert (
        one(root, "//rsm:ExchangedDocument/ram:IncludedNote/ram:Content") == document["vat_mention"]
    )
    buyer_vat = "//ram:BuyerTradeParty/ram:SpecifiedTaxRegistration/ram:ID"
    assert one(root, buyer_vat) == document["buyer"]["vat_number"]


def test_an_invoice_is_type_380_and_a_credit_note_381_referring_to_its_invoice() -> None:
    assert one(tree(typical_invoice()), "//rsm:ExchangedDocument/ram:TypeCode") == "380"
    root = tree(credit_note())
    assert one(root, "//rsm:ExchangedDocument/ram:TypeCode") == "381"
    assert one(root, "//ram:InvoiceReferencedDocument/ram:IssuerAssignedID") == "2026-000042"


def test_dates_are_the_issue_day_and_the_periods_days_in_its_time_zone() -> None:
    root = tree(typical_invoice())
    assert one(root, "//ram:IssueDateTime/udt:DateTimeString") == "20261101"
    period = "//ram:ApplicableHeaderTradeSettlement/ram:BillingSpecifiedPeriod/"
    # October 2026 in Paris starts 2026-09-30T22:00Z; the end instant is excluded (R1).
    assert one(root, period + "ram:StartDateTime/udt:DateTimeString") == "20261001"
    assert one(root, period + "ram:EndDateTime/udt:DateTimeString") == "20261031"


def test_payment_terms_are_stated_when_an_amount_is_due() -> None:
    document = typical_invoice()
    assert Decimal(document["amount_due"]) > 0
    terms = "//ram:SpecifiedTradePaymentTerms/ram:Description"
    assert texts(tree(document), terms) == ["Payable on receipt of the invoice."]
    document["payment_terms"] = "30 days net"
    assert texts(tree(document), terms) == ["30 days net"]


def test_a_draft_is_not_an_electronic_invoice() -> None:
    with pytest.raises(FacturXError, match="draft"):
        facturx_xml(draft_invoice())


def test_a_profile_without_country_is_refused_with_a_clear_reason() -> None:
    document = typical_invoice()
    document["buyer"]["country"] = ""
    with pytest.raises(FacturXError, match="buyer"):
        facturx_xml(document)


def test_the_xml_copies_the_document_and_never_recomputes_it() -> None:
    document = typical_invoice()
    tampered = copy.deepcopy(document)
    tampered["subtotal"] = "999.99"
    assert one(tree(tampered), TOTALS + "LineTotalAmount") == "999.99"


def test_an_amount_finer_than_the_currency_is_refused() -> None:
    document = typical_invoice()
    document["lines"][0]["amount"] = "59.575"
    with pytest.raises(MoneyError):
        facturx_xml(document)
