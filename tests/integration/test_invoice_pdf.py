"""Invoice PDFs read back: every amount is there, pages are numbered, tables repeat their
header and keep their rows whole, and the Factur-X PDF carries its XML (R8-R14)."""

import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import facturx
import pytest
from pypdf import PdfReader

from bysecond.render import facturx_xml, render_facturx_pdf, render_pdf
from bysecond.render.formatting import Formatter, parse_locale
from tests.documents_fixtures import (
    credit_note,
    draft_invoice,
    large_invoice,
    reverse_charged_invoice,
    typical_invoice,
)

Document = dict[str, Any]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SAMPLES: dict[str, Callable[[], Document]] = {
    "typical": typical_invoice,
    "reverse_charged": reverse_charged_invoice,
    "draft": draft_invoice,
    "credit_note": credit_note,
}
FIVE_THOUSAND = 5_000


def normalized(text: str) -> str:
    """Text with the locale's no-break spaces as plain spaces and no line breaks, so an
    amount reads the same wherever the PDF's text extraction split it."""
    return " ".join(text.replace("\u00a0", " ").replace("\u202f", " ").split())


def pages_text(pdf: bytes) -> list[str]:
    return [normalized(page.extract_text()) for page in PdfReader(BytesIO(pdf)).pages]


def formatter(document: Document) -> Formatter:
    locale = parse_locale(document["buyer"]["locale"])
    return Formatter(locale, document["currency"], document["period"]["time_zone"])


@pytest.fixture(scope="module")
def rendered() -> dict[str, tuple[Document, bytes]]:
    ARTIFACTS.mkdir(exist_ok=True)
    result = {}
    for name, build in SAMPLES.items():
        document = build()
        pdf = render_pdf(document)
        (ARTIFACTS / f"{name}.pdf").write_bytes(pdf)
        result[name] = (document, pdf)
    return result


@dataclass(frozen=True)
class Large:
    """The 5,000-run invoice as rendered: pypdf reads a page in about 0.15 s, so the
    text of a sample of pages is read once, here."""

    document: Document
    seconds: float
    page_count: int
    pages: dict[int, str]  # page number (from 1) -> text


@pytest.fixture(scope="module")
def large() -> Large:
    document = large_invoice(FIVE_THOUSAND)
    started = time.perf_counter()
    pdf = render_pdf(document)
    seconds = time.perf_counter() - started
    (ARTIFACTS / "large.pdf").write_bytes(pdf)
    reader = PdfReader(BytesIO(pdf))
    count = len(reader.pages)
    sample = {*range(1, 5), *range(10, count, 10), *range(count - 2, count + 1)}
    pages = {number: normalized(reader.pages[number - 1].extract_text()) for number in sample}
    return Large(document, seconds, count, pages)


@pytest.mark.parametrize("name", list(SAMPLES))
def test_the_number_totals_and_every_line_amount_are_in_the_pdf(
    rendered: dict[str, tuple[Document, bytes]], name: str
) -> None:
    document, pdf = rendered[name]
    text = " ".join(pages_text(pdf))
    fmt = formatter(document)
    assert (document["number"] or ("BROUILLON" if name == "draft" else "DRAFT")) in text
    for field in ("subtotal", "taxable_amount", "vat_amount", "total", "amount_due"):
        assert normalized(fmt.money(document[field])) in text, field
    for field in ("promotional_credits_applied", "prepaid_credits_applied"):
        assert normalized(fmt.deduction(document[field])) in text, field
    for line in document["lines"]:
        assert f"{line['id']} {normalized(line['description'])}" in text
        # The line amount closes the line's detail table (and is in the summary).
        assert f"{line['id']} {normalized(fmt.money(line['amount']))}" in text


def test_the_typical_invoice_is_a_summary_page_and_a_detail_page(
    rendered: dict[str, tuple[Document, bytes]],
) -> None:
    document, pdf = rendered["typical"]
    summary, details = pages_text(pdf)
    assert "Amount due €163.00" in summary
    assert "VAT 20% €35.50" in summary
    assert "Page 1 of 2" in summary and "Page 2 of 2" in details
    # Pages after the first carry a running header naming the invoice.
    assert "Stratus Cloud SAS · Invoice 2026-000042 · Acme Analytics SAS" in details
    fmt = formatter(document)
    for line in document["lines"]:
        for detail in line["details"]:
            if "instance_id" in detail:
                assert normalized(fmt.exact(detail["amount"])) in details


def test_the_reverse_charged_invoice_prints_the_mention_in_french(
    rendered: dict[str, tuple[Document, bytes]],
) -> None:
    document, pdf = rendered["reverse_charged"]
    summary = pages_text(pdf)[0]
    assert normalized(document["vat_mention"]) in summary
    assert "TVA 0 % 0,00 €" in summary
    assert "Net à payer 104,93 €" in summary
    assert "Page 1 sur 2" in summary


def test_a_pdf_is_the_same_bytes_each_time(rendered: dict[str, tuple[Document, bytes]]) -> None:
    document, pdf = rendered["typical"]
    assert render_pdf(document) == pdf


def test_the_factur_x_pdf_embeds_the_xml_of_the_document() -> None:
    document = typical_invoice()
    pdf = render_facturx_pdf(document)
    (ARTIFACTS / "typical-facturx.pdf").write_bytes(pdf)
    filename, xml = facturx.get_xml_from_pdf(pdf, check_xsd=True)
    assert filename == "factur-x.xml"
    assert xml == facturx_xml(document)
    reader = PdfReader(BytesIO(pdf))
    metadata = reader.xmp_metadata
    assert metadata is not None
    assert b"<pdfaid:part>3</pdfaid:part>" in metadata.stream.get_data()
    catalog = reader.trailer["/Root"]
    # PDF/A: an output intent (WeasyPrint's pdf/a-3b) and the XML as associated file.
    assert catalog["/OutputIntents"][0].get_object()["/S"] == "/GTS_PDFA1"
    assert len(catalog["/AF"]) == 1
    assert "Amount due €163.00" in pages_text(pdf)[0]


@pytest.mark.slow
def test_five_thousand_runs_render_in_reasonable_time(large: Large) -> None:
    document, count = large.document, large.page_count
    assert sum(len(line["details"]) for line in document["lines"][:2]) == FIVE_THOUSAND
    assert count > 60  # about 58 runs a page
    assert large.seconds < 120, f"rendering took {large.seconds:.0f} s"
    last_run = document["lines"][1]["details"][-1]
    end = large.pages[count - 1] + " " + large.pages[count]
    assert f"{last_run['instance_id']} run XL" in end
    assert normalized(formatter(document).exact(last_run["amount"])) in end
    assert f"Page {count} of {count}" in large.pages[count]


@pytest.mark.slow
def test_detail_tables_repeat_their_header_and_keep_rows_whole(large: Large) -> None:
    document = large.document
    fmt = formatter(document)
    amounts = {
        detail["instance_id"]: normalized(fmt.exact(detail["amount"]))
        for line in document["lines"][:2]
        for detail in line["details"]
    }
    header = "INSTANCE ROLE FLAVOR START END DURATION BILLED S RATE / H AMOUNT"
    assert len(large.pages) > 10
    for number, page in large.pages.items():
        ids = re.findall(r"\bi-[0-9a-f]{8}\b", page)
        if not ids:
            continue
        assert header in page, f"page {number} has rows but no header"
        for instance in ids:
            # A row split across pages would leave its amount on the next page.
            assert amounts[instance] in page, f"{instance} on page {number}"


def test_page_images_are_made_for_a_person_to_look_at(
    rendered: dict[str, tuple[Document, bytes]],
) -> None:
    if shutil.which("pdftoppm") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("pdftoppm is missing: apt-get install poppler-utils")
        pytest.skip("pdftoppm is missing (apt-get install poppler-utils)")
    for name in rendered:
        prefix = ARTIFACTS / name
        for old in ARTIFACTS.glob(f"{name}-*.png"):
            old.unlink()
        subprocess.run(
            ["pdftoppm", "-r", "110", "-png", str(prefix) + ".pdf", str(prefix)], check=True
        )
    images = sorted(ARTIFACTS.glob("typical-*.png"))
    assert [image.name for image in images] == ["typical-1.png", "typical-2.png"]
    assert all(image.stat().st_size > 20_000 for image in images)
