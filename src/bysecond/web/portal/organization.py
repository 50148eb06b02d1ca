"""An organisation's pages: overview, usage, credits, invoices and each invoice."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query
from starlette.responses import Response

from bysecond.api.deps import AppSettings, Db, Now
from bysecond.api.schemas.estimates import ProjectedTotals
from bysecond.services.credit_accounts import credit_account
from bysecond.services.estimates import current_estimate
from bysecond.services.invoice_pages import StoredInvoice, find_invoice, invoice_page
from bysecond.services.invoices import InvoiceNotFound, decoded
from bysecond.services.usage import WindowError
from bysecond.store.database import Database

from .access import PortalError, PortalOrg, SignedIn
from .daily import DailyCosts, daily_costs
from .pages import page
from .usage_view import usage_page

router = APIRouter(prefix="/orgs/{org}")
InvoiceRef = Annotated[str, Path(max_length=64)]


@router.get("", name="portal_overview")
def overview(
    org: PortalOrg, session: SignedIn, db: Db, now: Now, settings: AppSettings
) -> Response:
    with db.unit_of_work(read_only=True) as uow:
        estimate = current_estimate(uow.session, settings.seller, org, now)
        account = credit_account(uow.session, settings.seller, org, now)
        daily = daily_costs(uow.session, org, now)
        invoices = invoice_page(uow.session, org, 5).invoices
    return page(
        "overview.html",
        session=session,
        org=org,
        nav="overview",
        so_far=estimate.so_far.document(),
        # The API's own figures (`GET .../estimate`), formatted the same way.
        projected=ProjectedTotals.of(estimate.projected, estimate.so_far.customer.currency),
        statement=account.statement,
        chart=_chart(daily),
        daily=daily,
        invoices=invoices,
        now=now,
    )


@router.get("/usage", name="portal_usage")
def usage(
    org: PortalOrg,
    session: SignedIn,
    db: Db,
    now: Now,
    resource: Annotated[str | None, Query(max_length=128)] = None,
    day: Annotated[date | None, Query()] = None,
) -> Response:
    try:
        with db.unit_of_work(read_only=True) as uow:
            data = usage_page(uow.session, org, now, resource=resource or None, day=day)
    except WindowError as error:
        raise PortalError(422, f"That day cannot be shown: {error.message}.") from None
    return page(
        "usage.html",
        session=session,
        org=org,
        nav="usage",
        data=data,
        resource=resource or "",
        day=day.isoformat() if day else "",
    )


@router.get("/credits", name="portal_credits")
def credits(org: PortalOrg, session: SignedIn, db: Db, now: Now, settings: AppSettings) -> Response:
    with db.unit_of_work(read_only=True) as uow:
        account = credit_account(uow.session, settings.seller, org, now)
    return page("credits.html", session=session, org=org, nav="credits", account=account)


@router.get("/invoices", name="portal_invoices")
def invoices(org: PortalOrg, session: SignedIn, db: Db) -> Response:
    with db.unit_of_work(read_only=True) as uow:
        listed = invoice_page(uow.session, org, 100).invoices
    return page("invoices.html", session=session, org=org, nav="invoices", invoices=listed)


# Routes with a suffix come first: `{invoice}` alone would also match `inv_1.pdf`.
@router.get("/invoices/{invoice}.facturx.pdf", name="portal_invoice_facturx")
def invoice_facturx(org: PortalOrg, _: SignedIn, invoice: InvoiceRef, db: Db) -> Response:
    from bysecond.render import FacturXError, render_facturx_pdf

    stored = _stored(db, org, invoice)
    try:
        content = render_facturx_pdf(decoded(stored.document))
    except FacturXError as error:
        raise PortalError(409, f"This invoice has no Factur-X form: {error}") from None
    return _download(content, f"{stored.number or stored.id}.facturx.pdf")


@router.get("/invoices/{invoice}.pdf", name="portal_invoice_pdf")
def invoice_pdf(org: PortalOrg, _: SignedIn, invoice: InvoiceRef, db: Db) -> Response:
    from bysecond.render import render_pdf

    stored = _stored(db, org, invoice)
    return _download(render_pdf(decoded(stored.document)), f"{stored.number or stored.id}.pdf")


@router.get("/invoices/{invoice}/document", name="portal_invoice_document")
def invoice_document(org: PortalOrg, _: SignedIn, invoice: InvoiceRef, db: Db) -> Response:
    """The invoice as the PDF shows it: the same template (`render_html`)."""
    from bysecond.render import render_html

    html = render_html(decoded(_stored(db, org, invoice).document))
    return Response(
        html,
        media_type="text/html",
        headers={"Cache-Control": "no-store", "X-Frame-Options": "SAMEORIGIN"},
    )


@router.get("/invoices/{invoice}", name="portal_invoice")
def invoice_page_view(org: PortalOrg, session: SignedIn, invoice: InvoiceRef, db: Db) -> Response:
    stored = _stored(db, org, invoice)
    document = decoded(stored.document)
    comparison = document.get("comparison")
    former = Decimal(comparison["subtotal"]) if comparison else None
    return page(
        "invoice.html",
        session=session,
        org=org,
        nav="invoices",
        stored=stored,
        doc=document,
        former=former,
        saving=None if former is None else former - Decimal(document["subtotal"]),
    )


def _stored(db: Database, org: str, reference: str) -> StoredInvoice:
    try:
        with db.unit_of_work(read_only=True) as uow:
            return find_invoice(uow.session, org, reference)
    except InvoiceNotFound:
        raise PortalError(404, "There is no such invoice.") from None


def _download(content: bytes, filename: str) -> Response:
    return Response(
        content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


def _chart(daily: DailyCosts) -> str:
    """The chart's data for `portal.js`: amounts stay decimal strings (never floats here)."""
    data: dict[str, Any] = {
        "currency": daily.currency,
        "days": [d.isoformat() for d in daily.days],
        "series": [
            {
                "label": f"{s.resource_id} ({'add-on' if s.kind == 'addon' else 'application'})",
                "amounts": [str(a) for a in s.amounts],
            }
            for s in daily.series
        ],
    }
    # Safe inside <script type="application/json">: `<` is escaped, so no `</script>`.
    return orjson.dumps(data).decode().replace("<", "\\u003c")
