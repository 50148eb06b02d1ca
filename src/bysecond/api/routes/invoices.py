"""`GET /v1/organizations/{org}/invoices[/{id}[.html|.pdf|.facturx.pdf]]` (R13).

The JSON form is the stored document, byte for byte; HTML, PDF and Factur-X are rendered
from it alone, never recomputed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from starlette.responses import Response

from bysecond.services.invoice_pages import (
    MAX_PAGE,
    CursorError,
    StoredInvoice,
    find_invoice,
    invoice_page,
)
from bysecond.services.invoices import InvoiceNotFound, decoded
from bysecond.store.database import Database

from ..deps import Db, OrgScope
from ..problems import PROBLEM_TYPES, Problem, field_problem, responses
from ..schemas.invoices import InvoicePagePublic, InvoiceSummaryOut

JSON: Final = "application/json"
HTML: Final = "text/html"
PDF: Final = "application/pdf"
_BINARY: Final = {"schema": {"type": "string", "format": "binary"}}
_TEXT: Final = {"schema": {"type": "string"}}
_DOCUMENT: Final = {"schema": {"$ref": "#/components/schemas/InvoiceDocument"}}

router = APIRouter(prefix="/organizations/{org}/invoices", tags=["invoices"])
InvoiceRef = Annotated[
    str,
    PathParam(
        max_length=64,
        description="The invoice id (inv_...) or number (YYYY-NNNNNN).",
        examples=["2026-000042"],
    ),
]


@router.get(
    "",
    name="list_invoices",
    summary="List an organisation's invoices",
    response_model=InvoicePagePublic,
    responses=responses(401, 404, 422),
)
def list_invoices(
    org: OrgScope,
    db: Db,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Invoices per page.")] = 20,
    cursor: Annotated[
        str | None, Query(max_length=200, description="`next_cursor` of the previous page.")
    ] = None,
    status: Annotated[Literal["draft", "finalized", "paid"] | None, Query()] = None,
) -> InvoicePagePublic:
    """Newest period first, drafts included. Walking the pages from no cursor to a null
    `next_cursor` shows every invoice once."""
    try:
        with db.unit_of_work(read_only=True) as uow:
            page = invoice_page(uow.session, org, limit, cursor, status)
    except CursorError as error:
        raise field_problem("cursor", str(error), "query") from None
    return InvoicePagePublic(
        invoices=[InvoiceSummaryOut.of(s) for s in page.invoices], next_cursor=page.next_cursor
    )


# Routes with a suffix come first: `{invoice_id}` alone would also match `inv_1.pdf`.
@router.get(
    "/{invoice_id}.facturx.pdf",
    name="read_invoice_facturx",
    summary="Read an issued invoice as Factur-X (PDF/A-3 with EN 16931 XML)",
    response_class=Response,
    responses={200: {"content": {PDF: _BINARY}}, **responses(401, 404, 409, 422)},
)
def read_invoice_facturx(org: OrgScope, invoice_id: InvoiceRef, db: Db) -> Response:
    """Issued invoices only: a draft has no number, so it is no e-invoice (409)."""
    from bysecond.render import FacturXError, render_facturx_pdf

    document = decoded(_stored(db, org, invoice_id).document)
    try:
        return Response(render_facturx_pdf(document), media_type=PDF)
    except FacturXError as error:
        raise Problem(
            409, str(error), type=PROBLEM_TYPES["einvoice"], title="Not an e-invoice"
        ) from None


@router.get(
    "/{invoice_id}.pdf",
    name="read_invoice_pdf",
    summary="Read an invoice as PDF",
    response_class=Response,
    responses={200: {"content": {PDF: _BINARY}}, **responses(401, 404, 422)},
)
def read_invoice_pdf(org: OrgScope, invoice_id: InvoiceRef, db: Db) -> Response:
    return _rendered(_stored(db, org, invoice_id), PDF)


@router.get(
    "/{invoice_id}.html",
    name="read_invoice_html",
    summary="Read an invoice as HTML",
    response_class=Response,
    responses={200: {"content": {HTML: _TEXT}}, **responses(401, 404, 422)},
)
def read_invoice_html(org: OrgScope, invoice_id: InvoiceRef, db: Db) -> Response:
    return _rendered(_stored(db, org, invoice_id), HTML)


@router.get(
    "/{invoice_id}",
    name="read_invoice",
    summary="Read an invoice",
    response_class=Response,
    responses={
        200: {
            "description": "The stored document (JSON, byte for byte), or by `Accept`"
            " its HTML or PDF rendering.",
            "content": {JSON: _DOCUMENT, HTML: _TEXT, PDF: _BINARY},
        },
        **responses(401, 404, 422),
    },
)
def read_invoice(org: OrgScope, invoice_id: InvoiceRef, db: Db, request: Request) -> Response:
    """By id (`inv_...`) or number (`2026-000042`); `Accept: text/html` or
    `application/pdf` chooses a rendering."""
    return _rendered(_stored(db, org, invoice_id), _negotiated(request.headers.get("accept")))


def _stored(db: Database, org: str, reference: str) -> StoredInvoice:
    try:
        with db.unit_of_work(read_only=True) as uow:
            return find_invoice(uow.session, org, reference)
    except InvoiceNotFound as error:
        raise Problem(404, str(error)) from None


def _rendered(invoice: StoredInvoice, media_type: str) -> Response:
    if media_type == JSON:
        return Response(invoice.document, media_type=JSON)
    # Rendering pulls in ReportLab and factur-x: imported on first use, not at start.
    from bysecond.render import render_html, render_pdf

    render: Callable[[Any], str | bytes] = render_html if media_type == HTML else render_pdf
    return Response(render(decoded(invoice.document)), media_type=media_type)


def _negotiated(accept: str | None) -> str:
    """The offered media type the client prefers (RFC 9110 q-values); JSON by default."""
    best, best_q = JSON, 0.0
    for part in (accept or "").split(","):
        media_type, *parameters = (item.strip() for item in part.split(";"))
        q = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if media_type.lower() in (JSON, HTML, PDF) and q > best_q:
            best, best_q = media_type.lower(), q
    return best
