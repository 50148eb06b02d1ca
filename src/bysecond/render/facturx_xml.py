"""The invoice document as a Factur-X (EN 16931 profile) Cross Industry Invoice.

Every amount written is a field of the document, copied exactly (no recomputation), so
the EN 16931 identities hold because the document's own rules hold:
- line net amount (BT-131) = the line `amount` (R8/R12); a negative line (an R14
  adjustment) is quantity -1 at its absolute price, since a price may not be negative;
- sum of lines (BT-106) = `subtotal` (R9);
- promotional credits are a document-level allowance (BG-20) that reduces the taxable
  base (R10, R11: taxable = subtotal - promotional), so BT-109 = `taxable_amount`;
- VAT (BT-110) = `vat_amount` at `vat_rate`, category S, or AE with a zero rate and
  the exemption VATEX-EU-AE when the buyer is reverse-charged (R11);
- prepaid credits are a payment (R10): BT-113 paid amount = `prepaid_credits_applied`,
  and BT-115 amount due = `amount_due` (R11).

A credit note (`"type": "credit_note"`) has type code 381 and refers to the invoice it
corrects (BT-25); its amounts are positive and say what is credited (EN 16931).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Final
from zoneinfo import ZoneInfo

from lxml import etree

from bysecond.core.money import D, currency, parse_amount

from .document import Document, is_credit_note
from .formatting import parse_instant

RSM: Final = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM: Final = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT: Final = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
QDT: Final = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
NAMESPACES: Final = {"rsm": RSM, "ram": RAM, "udt": UDT, "qdt": QDT}
EN16931_GUIDELINE: Final = "urn:cen.eu:en16931:2017"

INVOICE_TYPE: Final = "380"  # UNTDID 1001: commercial invoice
CREDIT_NOTE_TYPE: Final = "381"  # UNTDID 1001: credit note
DISCOUNT_REASON: Final = "95"  # UNTDID 5189: discount
UNIT: Final = "C62"  # UN/ECE rec. 20: one (a line is one billed service)
REVERSE_CHARGE_REASON: Final = "Reverse charge"
REVERSE_CHARGE_CODE: Final = "VATEX-EU-AE"
# BR-CO-25 asks for payment terms when an amount is due; a document may state its own.
DEFAULT_PAYMENT_TERMS: Final = "Payable on receipt of the invoice."


class FacturXError(ValueError):
    """A document that cannot be an EN 16931 invoice (for example a draft)."""


def facturx_xml(document: Document) -> bytes:
    """The CII XML (Factur-X, EN 16931 level) of an issued invoice or credit note."""
    _require_issued(document)
    root = etree.Element(_rsm("CrossIndustryInvoice"), nsmap=NAMESPACES)
    context = _sub(root, _rsm("ExchangedDocumentContext"))
    _text(
        _sub(context, _ram("GuidelineSpecifiedDocumentContextParameter")), "ID", EN16931_GUIDELINE
    )
    _exchanged_document(_sub(root, _rsm("ExchangedDocument")), document)
    transaction = _sub(root, _rsm("SupplyChainTradeTransaction"))
    category = _TaxCategory.of(document)
    for line in document["lines"]:
        _line_item(transaction, line, category, document["currency"])
    _agreement(_sub(transaction, _ram("ApplicableHeaderTradeAgreement")), document)
    _sub(transaction, _ram("ApplicableHeaderTradeDelivery"))
    _settlement(_sub(transaction, _ram("ApplicableHeaderTradeSettlement")), document, category)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


# Structure --------------------------------------------------------------------------


def _exchanged_document(parent: etree._Element, document: Document) -> None:
    _text(parent, "ID", document["number"])
    _text(parent, "TypeCode", CREDIT_NOTE_TYPE if is_credit_note(document) else INVOICE_TYPE)
    _date(_sub(parent, _ram("IssueDateTime")), _local_date(document, document["issued_at"]))
    if document["reverse_charge"] and document.get("vat_mention"):
        _text(_sub(parent, _ram("IncludedNote")), "Content", document["vat_mention"])
    if is_credit_note(document) and document.get("reason"):
        # BT-22: why the invoice is corrected (R13).
        _text(_sub(parent, _ram("IncludedNote")), "Content", document["reason"])


def _line_item(parent: etree._Element, line: Document, category: _TaxCategory, code: str) -> None:
    item = _sub(parent, _ram("IncludedSupplyChainTradeLineItem"))
    line_document = _sub(item, _ram("AssociatedDocumentLineDocument"))
    _text(line_document, "LineID", line["id"])
    if line.get("corrects_period"):
        # R14: an adjustment says which finalised period it corrects.
        _text(
            _sub(line_document, _ram("IncludedNote")),
            "Content",
            f"Corrects period {line['corrects_period']}",
        )
    product = _sub(item, _ram("SpecifiedTradeProduct"))
    _text(product, "SellerAssignedID", line["resource_id"])
    _text(product, "Name", line["description"])
    amount = _amount(line["amount"], code)
    agreement = _sub(item, _ram("SpecifiedLineTradeAgreement"))
    price = _sub(agreement, _ram("NetPriceProductTradePrice"))
    _text(price, "ChargeAmount", _decimal(abs(amount)))  # BR-27: a price is never negative
    delivery = _sub(item, _ram("SpecifiedLineTradeDelivery"))
    _text(delivery, "BilledQuantity", "-1" if amount < 0 else "1", unitCode=UNIT)
    settlement = _sub(item, _ram("SpecifiedLineTradeSettlement"))
    category.write(_sub(settlement, _ram("ApplicableTradeTax")), with_reason=False)
    total = _sub(settlement, _ram("SpecifiedTradeSettlementLineMonetarySummation"))
    _text(total, "LineTotalAmount", _decimal(amount))


def _agreement(parent: etree._Element, document: Document) -> None:
    seller, buyer = document["seller"], document["buyer"]
    seller_party = _sub(parent, _ram("SellerTradeParty"))
    _text(seller_party, "Name", seller["name"])
    if seller.get("company_id"):
        _text(_sub(seller_party, _ram("SpecifiedLegalOrganization")), "ID", seller["company_id"])
    _address(seller_party, seller)
    _tax_registration(seller_party, seller.get("vat_number"))
    buyer_party = _sub(parent, _ram("BuyerTradeParty"))
    _text(buyer_party, "ID", buyer["organization_id"])  # BT-46: the seller's id for it
    _text(buyer_party, "Name", buyer["name"])
    _address(buyer_party, buyer)
    _tax_registration(buyer_party, buyer.get("vat_number"))


def _settlement(parent: etree._Element, document: Document, category: _TaxCategory) -> None:
    code = document["currency"]
    _text(parent, "InvoiceCurrencyCode", code)
    tax = _sub(parent, _ram("ApplicableTradeTax"))
    category.write(
        tax,
        with_reason=True,
        calculated=_money(document["vat_amount"], code),
        basis=_money(document["taxable_amount"], code),
    )
    period = _sub(parent, _ram("BillingSpecifiedPeriod"))
    start = _local_date(document, document["period"]["start"])
    # R1: the period is [start, end); EN 16931 names its last day (BT-74).
    end = _local_date(document, document["period"]["end"], minus=timedelta(microseconds=1))
    _date(_sub(period, _ram("StartDateTime")), start)
    _date(_sub(period, _ram("EndDateTime")), end)
    promotional = _amount(document["promotional_credits_applied"], code)
    if promotional:
        # R10/R11: promotional credits are a discount on the taxable base, before VAT.
        allowance = _sub(parent, _ram("SpecifiedTradeAllowanceCharge"))
        _text(_sub(allowance, _ram("ChargeIndicator")), "Indicator", "false", ns=UDT)
        _text(allowance, "ActualAmount", _decimal(promotional))
        _text(allowance, "ReasonCode", DISCOUNT_REASON)
        _text(allowance, "Reason", "Promotional credits")
        category.write(_sub(allowance, _ram("CategoryTradeTax")), with_reason=False)
    if _amount(document["amount_due"], code) > 0:
        terms = document.get("payment_terms") or DEFAULT_PAYMENT_TERMS
        _text(_sub(parent, _ram("SpecifiedTradePaymentTerms")), "Description", terms)
    totals = _sub(parent, _ram("SpecifiedTradeSettlementHeaderMonetarySummation"))
    _text(totals, "LineTotalAmount", _money(document["subtotal"], code))
    _text(totals, "AllowanceTotalAmount", _decimal(promotional))
    _text(totals, "TaxBasisTotalAmount", _money(document["taxable_amount"], code))
    _text(totals, "TaxTotalAmount", _money(document["vat_amount"], code), currencyID=code)
    _text(totals, "GrandTotalAmount", _money(document["total"], code))
    # R10: prepaid credits are a payment already received, not a discount.
    _text(totals, "TotalPrepaidAmount", _money(document["prepaid_credits_applied"], code))
    _text(totals, "DuePayableAmount", _money(document["amount_due"], code))
    if is_credit_note(document):
        reference = _sub(parent, _ram("InvoiceReferencedDocument"))
        _text(reference, "IssuerAssignedID", document["corrects_invoice"])
        if document.get("corrects_invoice_issued_at"):
            # BT-26: the issue date of the invoice this credit note corrects.
            issued = _local_date(document, document["corrects_invoice_issued_at"])
            _text(
                _sub(reference, _ram("FormattedIssueDateTime")),
                "DateTimeString",
                issued,
                ns=QDT,
                format="102",
            )


# VAT category ------------------------------------------------------------------------


class _TaxCategory:
    """One VAT category for the whole document: the rate is the organisation's (R11)."""

    def __init__(self, code: str, percent: Decimal, reverse_charge: bool) -> None:
        self.code = code
        self.percent = percent
        self.reverse_charge = reverse_charge

    @classmethod
    def of(cls, document: Document) -> _TaxCategory:
        percent = D(document["vat_rate"]).scaleb(2)
        if not document["reverse_charge"]:
            return cls("S", percent, reverse_charge=False)
        if percent != 0:
            raise FacturXError("a reverse-charged invoice has a VAT rate of 0 (R11)")
        if not document["buyer"].get("vat_number"):
            raise FacturXError("reverse charge needs the buyer's VAT number (R11, BR-AE-02)")
        return cls("AE", percent, reverse_charge=True)

    def write(
        self,
        parent: etree._Element,
        *,
        with_reason: bool,
        calculated: str | None = None,
        basis: str | None = None,
    ) -> None:
        # The schema fixes the order of these elements.
        if calculated is not None:
            _text(parent, "CalculatedAmount", calculated)
        _text(parent, "TypeCode", "VAT")
        if with_reason and self.reverse_charge:
            _text(parent, "ExemptionReason", REVERSE_CHARGE_REASON)
        if basis is not None:
            _text(parent, "BasisAmount", basis)
        _text(parent, "CategoryCode", self.code)
        if with_reason and self.reverse_charge:
            _text(parent, "ExemptionReasonCode", REVERSE_CHARGE_CODE)
        _text(parent, "RateApplicablePercent", _percent(self.percent))


# Small helpers -----------------------------------------------------------------------


def _require_issued(document: Document) -> None:
    if not document.get("number") or not document.get("issued_at"):
        raise FacturXError(
            "a draft has no number yet: only an issued invoice is an EN 16931 invoice (R13)"
        )
    for party in ("seller", "buyer"):
        # BR-8/BR-9, BR-10/BR-11: both postal addresses carry a country code.
        if not document[party].get("country"):
            raise FacturXError(f"the {party}'s profile has no country")
    if is_credit_note(document):
        if not document.get("corrects_invoice"):
            raise FacturXError("a credit note names the invoice it corrects (R13)")
        if D(document["total"]) < 0:
            raise FacturXError("a credit note's amounts are positive: what is credited")


def _address(party: etree._Element, profile: Document) -> None:
    address = _sub(party, _ram("PostalTradeAddress"))
    rows = [row.strip() for row in (profile.get("address") or "").splitlines() if row.strip()]
    # CII has three address lines; the rest of a longer address goes on the third.
    for name, row in zip(("LineOne", "LineTwo"), rows[:2], strict=False):
        _text(address, name, row)
    if len(rows) > 2:
        _text(address, "LineThree", ", ".join(rows[2:]))
    _text(address, "CountryID", profile["country"])


def _tax_registration(party: etree._Element, vat_number: str | None) -> None:
    if vat_number:
        _text(_sub(party, _ram("SpecifiedTaxRegistration")), "ID", vat_number, schemeID="VA")


def _local_date(document: Document, instant: str, minus: timedelta = timedelta(0)) -> str:
    zone = ZoneInfo(document["period"]["time_zone"])
    return (parse_instant(instant).astimezone(zone) - minus).strftime("%Y%m%d")


def _amount(text: str, code: str) -> Decimal:
    """A rounded amount of the document, refused if not on the currency's minor unit."""
    return parse_amount(text, currency(code), allow_negative=True)


def _money(text: str, code: str) -> str:
    return _decimal(_amount(text, code))


def _decimal(value: Decimal) -> str:
    """An amount as the document writes it ("12.30"), never a negative zero."""
    return format(value if value else abs(value), "f")


def _percent(value: Decimal) -> str:
    """A rate in percent without exponent or useless zeros: "20", "5.5", "0"."""
    return format(value.normalize() if value else Decimal(0), "f")


def _date(parent: etree._Element, yyyymmdd: str) -> None:
    _text(parent, "DateTimeString", yyyymmdd, ns=UDT, format="102")


def _rsm(name: str) -> str:
    return f"{{{RSM}}}{name}"


def _ram(name: str) -> str:
    return f"{{{RAM}}}{name}"


def _sub(parent: etree._Element, tag: str) -> etree._Element:
    return etree.SubElement(parent, tag)


def _text(
    parent: etree._Element, name: str, value: str, *, ns: str = RAM, **attributes: str
) -> etree._Element:
    element = etree.SubElement(parent, f"{{{ns}}}{name}", attributes)
    element.text = value
    return element
