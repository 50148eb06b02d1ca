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
    """The 5,000-run invoice as rendered: pypdf reads a page in about 70 ms, so the text
    of every page is read once, here."""

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
    pages = {
        number: normalized(page.extract_text()) for number, page in enumerate(reader.pages, start=1)
    }
    return Large(document, seconds, len(pages), pages)


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
    # PDF/A: an sRGB output intent and the XML as associated file.
    assert catalog["/OutputIntents"][0].get_object()["/S"] == "/GTS_PDFA1"
    assert len(catalog["/AF"]) == 1
    assert "Amount due €163.00" in pages_text(pdf)[0]


@pytest.mark.slow
def test_five_thousand_runs_render_in_reasonable_time(large: Large) -> None:
    document, count = large.document, large.page_count
    assert sum(len(line["details"]) for line in document["lines"][:2]) == FIVE_THOUSAND
    assert count > 60  # about 58 runs a page
    assert large.seconds < 30, f"rendering took {large.seconds:.0f} s"
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


# The PDF drawn with ReportLab: what the HTML layout used to give for free ----------------

DETAIL_HEADER = "INSTANCE ROLE FLAVOR START END DURATION BILLED S RATE / H AMOUNT"


@pytest.mark.slow
def test_every_run_of_the_five_thousand_is_in_the_pdf_with_its_amount(large: Large) -> None:
    fmt = formatter(large.document)
    text = " ".join(large.pages[number] for number in sorted(large.pages))
    runs = [detail for line in large.document["lines"][:2] for detail in line["details"]]
    assert len(runs) == FIVE_THOUSAND
    for run in runs:
        assert f"{run['instance_id']} run {run['flavor']}" in text
        assert normalized(fmt.exact(run["amount"])) in text, run["instance_id"]


@pytest.mark.slow
def test_every_detail_page_repeats_the_header_and_the_running_title(large: Large) -> None:
    title = "Stratus Cloud SAS · Invoice 2026-000044 · Acme Analytics SAS · October 2026"
    for number in range(2, large.page_count + 1):
        page = large.pages[number]
        assert title in page, number
        if re.search(r"\bi-[0-9a-f]{8}\b", page):
            assert DETAIL_HEADER in page, f"page {number} has runs but no header"
        assert f"Page {number} of {large.page_count}" in page


def test_a_long_list_of_lines_continues_on_the_next_page_with_its_header() -> None:
    document = typical_invoice()
    lines = [
        dict(line, id=f"L{number:03d}")
        for number, line in enumerate(document["lines"] * 8, start=1)
    ]
    document["lines"] = lines
    document["comparison"]["lines"] = [
        dict(former, id=f"L{number:03d}")
        for number, former in enumerate(document["comparison"]["lines"] * 8, start=1)
    ]
    pages = pages_text(render_pdf(document))
    header = "LINE DESCRIPTION BILLED TIME FORMER RULE AMOUNT"
    assert header in pages[0] and header in pages[1]
    assert "Amount due €163.00" in pages[0]
    summary = " ".join(page for page in pages if "DETAILS" not in page)
    fmt = formatter(document)
    for line in lines:
        assert f"{line['id']} {normalized(line['description'])}" in summary
        assert normalized(fmt.money(line["amount"])) in summary
    # The details start on a page of their own, after the last line of the summary.
    first_detail = next(n for n, page in enumerate(pages) if page.count("DETAILS"))
    assert "L064" in pages[first_detail - 1]


def test_a_french_invoice_is_written_in_french_on_every_page(
    rendered: dict[str, tuple[Document, bytes]],
) -> None:
    document, pdf = rendered["reverse_charged"]
    summary, details = pages_text(pdf)
    fmt = formatter(document)
    assert "Facture 2026-000043" in summary
    assert "DATE D'ÉMISSION 1 novembre 2026" in summary
    assert "PÉRIODE octobre 2026" in summary
    assert "Sous-total" in summary and "Montant HT" in summary
    assert "Heures en Europe/Brussels" in summary
    assert "Page 2 sur 2" in details
    header = "INSTANCE RÔLE TAILLE DÉBUT FIN DURÉE S FACTURÉES TARIF / H MONTANT"
    assert header in details
    site = document["lines"][0]
    for run in site["details"]:
        # Day before month, 24-hour clock, comma decimals and the euro sign after.
        moment = normalized(fmt.moment(run["start"]))
        assert re.fullmatch(r"\d{1,2} [a-zéû]+\.? \d{2}:\d{2}:\d{2}", moment.replace(",", ""))
        assert moment in details
        amount = normalized(fmt.exact(run["amount"]))
        assert re.fullmatch(r"-?\d+,\d{6} €", amount) and amount in details
    assert f"Montant de la ligne {site['id']} {normalized(fmt.money(site['amount']))}" in details


def test_a_draft_is_marked_on_every_page(rendered: dict[str, tuple[Document, bytes]]) -> None:
    _, pdf = rendered["draft"]
    pages = pages_text(pdf)
    assert len(pages) == 2
    assert all("BROUILLON" in page for page in pages)
    assert "Brouillon : les montants peuvent encore changer" in pages[0]
    _, issued = rendered["typical"]
    assert not any("DRAFT" in page for page in pages_text(issued))


def test_only_the_dejavu_fonts_are_used_and_all_are_embedded(
    rendered: dict[str, tuple[Document, bytes]],
) -> None:
    for name, (_, pdf) in rendered.items():
        fonts = {}
        for page in PdfReader(BytesIO(pdf)).pages:
            for font in page["/Resources"]["/Font"].values():
                font = font.get_object()
                fonts[font["/BaseFont"]] = font
        assert fonts, name
        for base_name, font in fonts.items():
            assert re.fullmatch(r"/[A-Z]{6}\+DejaVuSans[A-Za-z-]*", base_name), base_name
            descriptor = font["/FontDescriptor"].get_object()
            assert "/FontFile2" in descriptor, f"{base_name} is not embedded in {name}"
            assert "/ToUnicode" in font  # text can be copied and searched


def test_missing_fonts_stop_rendering_with_the_package_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bysecond.render.pdf import FontsMissing, fonts

    monkeypatch.setattr(fonts, "FONT_DIRECTORIES", (tmp_path,))
    with pytest.raises(FontsMissing, match=r"DejaVuSans\.ttf.*fonts-dejavu-core"):
        fonts.register_fonts.__wrapped__()


def test_the_factur_x_pdf_declares_srgb_and_agrees_with_its_xmp_metadata() -> None:
    pdf = render_facturx_pdf(typical_invoice())
    reader = PdfReader(BytesIO(pdf))
    intent = reader.trailer["/Root"]["/OutputIntents"][0].get_object()
    assert intent["/OutputConditionIdentifier"] == "sRGB IEC61966-2.1"
    profile = intent["/DestOutputProfile"].get_object()
    assert profile["/N"] == 3 and profile.get_data()[36:40] == b"acsp"  # an ICC profile
    xmp = reader.xmp_metadata
    assert xmp is not None
    info = reader.metadata
    assert info is not None
    assert info["/Producer"] == xmp.pdf_producer
    assert info["/Title"] == xmp.dc_title["x-default"]


def test_amounts_are_never_read_as_floats() -> None:
    """A detail amount beyond a float's precision is printed from its decimal text."""
    document = typical_invoice()
    detail = document["lines"][0]["details"][0]
    detail["amount"] = "123456789012.345678500000"  # 1.234567890123456785e11 as a float
    text = " ".join(pages_text(render_pdf(document)))
    assert "€123,456,789,012.345679" in text
