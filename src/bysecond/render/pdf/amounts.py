"""Page 1's money: the summary by kind and the credits on the left, subtotal to amount
due on the right (the stylesheet's two columns), every amount the document's own (R9-R11).
"""

from __future__ import annotations

from reportlab.lib.colors import Color
from reportlab.pdfgen.canvas import Canvas

from ..html import KINDS  # the order of the totals, as on the web view
from . import layout
from .blocks import heading, notice
from .context import Sheet
from .fonts import CONDENSED, SANS, SANS_BOLD
from .layout import Block
from .style import (
    ACCENT,
    ACCENT_SOFT,
    BODY_SIZE,
    CONTENT_WIDTH,
    CREDIT,
    HEADING_SIZE,
    INK,
    LEFT,
    LINE_HEIGHT,
    RIGHT,
    RULE,
    SMALL_SIZE,
    WHITE,
    mm,
)
from .table import Column, Style, Table

_LEADING = BODY_SIZE * LINE_HEIGHT

_LEFT_WIDTH = CONTENT_WIDTH * 0.52 - mm(8)
_RIGHT_WIDTH = CONTENT_WIDTH * 0.48
_RIGHT_X = RIGHT - _RIGHT_WIDTH


def amounts(sheet: Sheet) -> Block:
    """The summary by kind and the credits on the left; the money and the amount due on
    the right (the stylesheet's two columns)."""
    left = [
        heading(sheet.labels["summary"]),
        *_totals_by_kind(sheet),
        heading(sheet.labels["credits"]),
        *_credit_summary(sheet),
    ]
    right = [layout.space(mm(6.5)), *_money(sheet), _due(sheet)]
    if sheet.document["reverse_charge"]:
        mention = sheet.document.get("vat_mention") or ""
        right.append(notice(mention, ACCENT, ACCENT_SOFT, x=_RIGHT_X, width=_RIGHT_WIDTH))
    above = mm(1)
    left_height = sum(block.height for block in left)
    right_height = sum(block.height for block in right)

    def draw(canvas: Canvas, top: float) -> None:
        for blocks in (left, right):
            y = top + above
            for block in blocks:
                block.draw(canvas, y)
                y += block.height

    return Block(above + max(left_height, right_height), draw)


def _totals_by_kind(sheet: Sheet) -> list[Block]:
    style = Style(pad_x=mm(1.5), pad_y=mm(1.1), line_height=LINE_HEIGHT, zebra=False, row_rule=RULE)
    amount_width = mm(28)
    table = Table(
        LEFT,
        [
            Column("", _LEFT_WIDTH - amount_width, font=SANS, size=BODY_SIZE),
            Column("", amount_width, right=True, font=SANS, size=BODY_SIZE),
        ],
        style,
    )
    totals = sheet.document["totals_by_kind"]
    return [
        table.row([sheet.labels[f"kind_{kind}"], sheet.fmt.money(totals[kind])]) for kind in KINDS
    ]


def _credit_summary(sheet: Sheet) -> list[Block]:
    """Free and prepaid credits: available, used, expired, remaining."""
    labels, fmt = sheet.labels, sheet.fmt
    summary = sheet.document["credit_summary"]
    style = Style(
        pad_x=mm(1.2),
        pad_y=mm(1),
        line_height=LINE_HEIGHT,
        zebra=False,
        row_rule=RULE,
        head_font=CONDENSED,
        head_size=SMALL_SIZE,
        head_rule=0.5,
        head_rule_color=RULE,
        head_upper=False,
    )
    label_width = _LEFT_WIDTH * 0.4  # the stylesheet keeps these labels on one line
    amount_width = (_LEFT_WIDTH - label_width) / 4
    size = HEADING_SIZE
    columns = [Column("", label_width, font=CONDENSED, size=size)] + [
        Column(labels[key], amount_width, right=True, font=CONDENSED, size=size)
        for key in ("available", "used", "expired", "remaining")
    ]
    table = Table(LEFT, columns, style)
    free, prepaid = summary["promotional"], summary["prepaid"]
    return [
        table.header(),
        table.row(
            [
                labels["credit_free"],
                *(fmt.money(free[key]) for key in ("available", "used", "expired", "remaining")),
            ]
        ),
        # Prepaid credits never expire (R10).
        table.row(
            [
                labels["credit_prepaid"],
                fmt.money(prepaid["available"]),
                fmt.money(prepaid["used"]),
                "—",
                fmt.money(prepaid["remaining"]),
            ]
        ),
    ]


def _money_row(
    label: str,
    value: str,
    *,
    bold: bool = False,
    value_color: Color = INK,
    rule_above: bool = False,
) -> Block:
    pad = mm(1.2)
    font = SANS_BOLD if bold else SANS

    def draw(canvas: Canvas, top: float) -> None:
        if rule_above:
            layout.rule(canvas, _RIGHT_X, RIGHT, top + 0.3, 0.6, RULE)
        y = layout.baseline(top + pad, BODY_SIZE, _LEADING)
        layout.text(canvas, _RIGHT_X + mm(1.5), y, label, font, BODY_SIZE, INK)
        layout.text(canvas, RIGHT - mm(1.5), y, value, font, BODY_SIZE, value_color, right=True)

    return Block(_LEADING + 2 * pad, draw)


def _money(sheet: Sheet) -> list[Block]:
    """Subtotal to total, and the credits taken off: R10-R11 as the document states them."""
    document, labels, fmt = sheet.document, sheet.labels, sheet.fmt
    vat = f"{labels['vat']} {fmt.percent(document['vat_rate'])}"
    return [
        _money_row(labels["subtotal"], fmt.money(document["subtotal"])),
        _money_row(
            labels["promotional_credits"],
            fmt.deduction(document["promotional_credits_applied"]),
            value_color=CREDIT,
        ),
        _money_row(
            labels["taxable_amount"], fmt.money(document["taxable_amount"]), rule_above=True
        ),
        _money_row(vat, fmt.money(document["vat_amount"])),
        _money_row(labels["total"], fmt.money(document["total"]), bold=True, rule_above=True),
        _money_row(
            labels["prepaid_credits"],
            fmt.deduction(document["prepaid_credits_applied"]),
            value_color=CREDIT,
        ),
    ]


def _due(sheet: Sheet) -> Block:
    label = sheet.labels["amount_credited" if sheet.credit_note else "amount_due"]
    amount = sheet.fmt.money(sheet.document["amount_due"])
    above, pad, leading = mm(2), mm(3), 14 * LINE_HEIGHT

    def draw(canvas: Canvas, top: float) -> None:
        layout.box(canvas, _RIGHT_X, top + above, _RIGHT_WIDTH, leading + 2 * pad, ACCENT, radius=2)
        y = layout.baseline(top + above + pad, 14, leading)
        layout.text(canvas, _RIGHT_X + pad, y, label, SANS_BOLD, 9, WHITE)
        layout.text(canvas, RIGHT - pad, y, amount, SANS_BOLD, 14, WHITE, right=True)

    return Block(above + leading + 2 * pad, draw)
