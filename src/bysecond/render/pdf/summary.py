"""Page 1: who, when, how much, credits, the former rule, and one row per line.

The same content as the web view's invoice_summary.html, every value a field of the
document written by `Formatter`. The table of lines continues on the next pages, header
repeated, when an invoice has more lines than page 1 holds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reportlab.pdfgen.canvas import Canvas

from . import layout
from .amounts import amounts
from .blocks import Stack, heading, notice, paragraph, plain
from .context import Sheet
from .fonts import MONO, SANS, SANS_BOLD
from .layout import Block, Flow, Run
from .style import (
    ACCENT,
    BODY_SIZE,
    CONTENT_WIDTH,
    CREDIT,
    DRAFT,
    DRAFT_BACKGROUND,
    FAINT,
    HEADING_SIZE,
    INK,
    LEFT,
    LINE_HEIGHT,
    MUTED,
    PAID_BACKGROUND,
    RIGHT,
    RULE,
    SMALL_SIZE,
    ZEBRA,
    mm,
)
from .table import Cell, Column, Style, Table


def place_summary(flow: Flow, sheet: Sheet) -> None:
    flow.place(_masthead(sheet))
    flow.place(_parties(sheet))
    flow.place(_facts(sheet))
    if sheet.draft:
        flow.place(notice(sheet.labels["draft_notice"], DRAFT, DRAFT_BACKGROUND))
    flow.place(amounts(sheet))
    if sheet.document.get("comparison"):
        flow.place(_comparison(sheet))
    _place_lines(flow, sheet)


# Heading, parties, facts ------------------------------------------------------------------


def _masthead(sheet: Sheet) -> Block:
    seller = sheet.document["seller"]["name"]
    paid = sheet.document.get("status") == "paid"
    title_leading, number_leading = 18 * 1.1, 10 * LINE_HEIGHT
    number_top = title_leading + mm(1)
    pill_top = number_top + number_leading + mm(1.5)
    pill_label = sheet.labels["status_paid"].upper()
    pill_height = SMALL_SIZE * LINE_HEIGHT + mm(1)
    content = pill_top + pill_height if paid else number_top + number_leading
    height = content + mm(4) + 2

    def draw(canvas: Canvas, top: float) -> None:
        brand_y = layout.baseline(top + mm(1), 15, 15 * LINE_HEIGHT)
        layout.box(canvas, LEFT, brand_y - 9, 9, 9, ACCENT, radius=2)
        layout.text(canvas, LEFT + 14, brand_y, seller, SANS_BOLD, 15, INK)
        y = layout.baseline(top, 18, title_leading)
        layout.text(canvas, RIGHT, y, sheet.title, SANS_BOLD, 18, ACCENT, right=True)
        y = layout.baseline(top + number_top, 10, number_leading)
        layout.text(canvas, RIGHT, y, sheet.number, MONO, 10, INK, right=True)
        if paid:
            width = layout.width_of(pill_label, SANS_BOLD, SMALL_SIZE) + mm(5)
            layout.box(
                canvas, RIGHT - width, top + pill_top, width, pill_height, PAID_BACKGROUND, radius=6
            )
            y = layout.baseline(top + pill_top + mm(0.5), SMALL_SIZE, SMALL_SIZE * LINE_HEIGHT)
            layout.text(
                canvas, RIGHT - mm(2.5), y, pill_label, SANS_BOLD, SMALL_SIZE, CREDIT, right=True
            )
        layout.rule(canvas, LEFT, RIGHT, top + height - 1, 2, ACCENT)

    return Block(height, draw)


def _party(sheet: Sheet, party: Mapping[str, Any], title: str) -> Stack:
    labels = sheet.labels
    stack = Stack(CONTENT_WIDTH / 2 - mm(6))
    stack.add(plain(title.upper(), SANS_BOLD), HEADING_SIZE)
    stack.add([Run(party["name"], SANS_BOLD, INK)], 9.5, before=mm(1.5))
    rows = [*(party.get("address") or "").splitlines(), party.get("country") or ""]
    for number, row in enumerate(rows):
        stack.add([Run(row, SANS, INK)], BODY_SIZE, before=mm(0.8) if number == 0 else 0)
    identifiers = [
        ("vat_number", party.get("vat_number")),
        ("company_id", party.get("company_id")),
        ("organization", party.get("organization_id")),
    ]
    for number, (key, value) in enumerate((key, v) for key, v in identifiers if v):
        runs = [Run(f"{labels[key]} ", SANS, MUTED), Run(value, MONO, INK)]
        stack.add(runs, HEADING_SIZE, before=mm(1.2) if number == 0 else 0)
    return stack


def _parties(sheet: Sheet) -> Block:
    document, labels = sheet.document, sheet.labels
    seller = _party(sheet, document["seller"], labels["from"])
    buyer = _party(sheet, document["buyer"], labels["bill_to"])
    above = mm(5)

    def draw(canvas: Canvas, top: float) -> None:
        seller.draw(canvas, LEFT, top + above)
        buyer.draw(canvas, LEFT + CONTENT_WIDTH / 2, top + above)

    return Block(above + max(seller.height, buyer.height), draw)


def _fact(label: str, value: str, share: float, small: Sequence[str] = ()) -> tuple[float, Stack]:
    stack = Stack(CONTENT_WIDTH * share - mm(3))
    stack.add(plain(label.upper()), SMALL_SIZE)
    stack.add([Run(value, SANS_BOLD, INK)], BODY_SIZE, before=mm(0.5))
    for line in small:
        stack.add(plain(line), SMALL_SIZE)
    return share, stack


def _facts(sheet: Sheet) -> Block:
    """Number, issue date, period, and how the invoice meters (or what a credit note
    corrects), in rows of facts side by side."""
    document, labels, fmt = sheet.document, sheet.labels, sheet.fmt
    period = document["period"]
    issued = fmt.day(document["issued_at"]) if document["issued_at"] else labels["not_issued"]
    span = f"{fmt.instant(period['start'])} – {fmt.instant(period['end'])}"
    facts = [
        _fact(labels["number"], sheet.number, 0.22),
        _fact(labels["issue_date"], issued, 0.22),
        _fact(
            labels["period"],
            fmt.month(period["start"]),
            0.34,
            [span, f"{labels['times_in']} {period['time_zone']}"],
        ),
    ]
    if sheet.credit_note:
        facts.append(_fact(labels["corrects_invoice"], document["corrects_invoice"], 0.22))
        if document.get("reason"):
            facts.append(_fact(labels["reason"], document["reason"], 0.34))
    else:
        policy = labels.get(f"policy_{document['policy']}", document["policy"])
        facts.append(_fact(labels["policy"], policy, 0.22))
    rows: list[list[tuple[float, Stack]]] = [[]]
    for share, stack in facts:
        if sum(s for s, _ in rows[-1]) + share > 1.0001:
            rows[-1:] = [rows[-1], []]
        rows[-1].append((share, stack))
    above, pad, gap = mm(5), mm(2.5), mm(2)
    heights = [max(stack.height for _, stack in row) for row in rows]
    height = above + 2 * pad + sum(heights) + gap * (len(rows) - 1)

    def draw(canvas: Canvas, top: float) -> None:
        layout.rule(canvas, LEFT, RIGHT, top + above, 0.6, RULE)
        row_top = top + above + pad
        for row, row_height in zip(rows, heights, strict=True):
            x = LEFT
            for share, stack in row:
                stack.draw(canvas, x, row_top)
                x += CONTENT_WIDTH * share
            row_top += row_height + gap
        layout.rule(canvas, LEFT, RIGHT, top + height, 0.6, RULE)

    return Block(height, draw)


# The former rule, and the lines ----------------------------------------------------------


def _comparison(sheet: Sheet) -> Block:
    """What the former 10-minute-slice rule would have cost (R15)."""
    labels, fmt = sheet.labels, sheet.fmt
    comparison = sheet.document["comparison"]
    policy = labels.get(f"policy_{comparison['policy']}", comparison["policy"])
    # The document's difference is this invoice's subtotal minus the former rule's.
    direction = fmt.sign(comparison["difference"])
    difference = fmt.magnitude(comparison["difference"])
    runs = [
        Run(labels["comparison_text"].format(policy=policy) + " ", SANS, INK),
        Run(fmt.money(comparison["subtotal"]), SANS_BOLD, INK),
        Run(". ", SANS, INK),
    ]
    if direction < 0:
        runs += [
            Run(f"{labels['comparison_saves']} ", SANS, INK),
            Run(difference, SANS_BOLD, INK),
            Run(".", SANS, INK),
        ]
    elif direction > 0:
        runs += [
            Run(f"{labels['comparison_costs']} ", SANS, INK),
            Run(difference, SANS_BOLD, INK),
            Run(f"{labels['comparison_costs_after']}.", SANS, INK),
        ]
    else:
        runs.append(Run(labels["comparison_same"], SANS, INK))
    above, pad_y, pad_x = mm(4), mm(2.5), mm(3)
    title = heading(labels["comparison"], above=0, below=mm(1), x=LEFT + pad_x)
    text = paragraph(runs, BODY_SIZE, x=LEFT + pad_x, width=CONTENT_WIDTH - 2 * pad_x)
    inner = title.height + text.height
    height = above + inner + 2 * pad_y

    def draw(canvas: Canvas, top: float) -> None:
        box_top, box_height = top + above, inner + 2 * pad_y
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.6)
        canvas.setFillColor(ZEBRA)
        canvas.roundRect(
            LEFT, layout.pdf_y(box_top + box_height), CONTENT_WIDTH, box_height, 2, stroke=1, fill=1
        )
        title.draw(canvas, box_top + pad_y)
        text.draw(canvas, box_top + pad_y + title.height)

    return Block(height, draw)


def _place_lines(flow: Flow, sheet: Sheet) -> None:
    """One row per line: its description, billed time, former rule, amount."""
    labels, fmt = sheet.labels, sheet.fmt
    style = Style(
        pad_x=mm(1.5),
        pad_y=mm(1.1),
        line_height=LINE_HEIGHT,
        zebra=False,
        row_rule=RULE,
        head_font=SANS_BOLD,
    )
    amounts = [Column(labels["billed_time"], mm(30), right=True, font=SANS, size=BODY_SIZE)]
    if sheet.former:
        amounts.append(
            Column(
                labels["former_rule"], mm(24), right=True, font=SANS, size=BODY_SIZE, color=FAINT
            )
        )
    amounts.append(Column(labels["amount"], mm(24), right=True, font=SANS, size=BODY_SIZE))
    identifier = Column(labels["line"], mm(11), font=MONO, size=BODY_SIZE, color=MUTED)
    described = CONTENT_WIDTH - identifier.width - sum(column.width for column in amounts)
    description = Column(labels["description"], described, font=SANS, size=BODY_SIZE)
    table = Table(LEFT, [identifier, description, *amounts], style)
    rows = []
    for line in sheet.document["lines"]:
        corrects = line.get("corrects_period")
        tag = f"{labels['corrects_period']} {corrects}" if corrects else None
        timed = line["kind"] in ("application", "addon")
        cells: list[str | Cell] = [
            line["id"],
            Cell(line["description"], tag),
            fmt.duration(line["billed_seconds"]) if timed else "—",
        ]
        if sheet.former:
            former = sheet.former.get(line["id"])
            cells.append(fmt.money(former["amount"]) if former else "—")
        cells.append(fmt.money(line["amount"]))
        rows.append(table.row(cells))
    flow.place_table(table.header(), rows, lead=[heading(labels["lines"])])
