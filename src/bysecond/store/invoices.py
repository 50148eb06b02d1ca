"""Invoice numbers (R13): a gapless sequence per year, `YYYY-NNNNNN`."""

from __future__ import annotations

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from .schema import InvoiceSequence


def next_invoice_number(connection: Connection, year: int) -> str:
    """The next number of `year`, taken inside the transaction that finalises the invoice.

    The sequence row stays locked until that transaction ends: a rollback gives the
    number back (no gap) and a concurrent finaliser waits for it (no repeat).
    """
    if not 1 <= year <= 9999:
        raise ValueError(f"no invoice year {year}")
    dialect = sqlite if connection.dialect.name == "sqlite" else postgresql
    statement = dialect.insert(InvoiceSequence).values(year=year, last_number=1)
    statement = statement.on_conflict_do_update(
        index_elements=["year"],
        set_={"last_number": InvoiceSequence.__table__.c.last_number + 1},
    ).returning(InvoiceSequence.last_number)
    number = connection.execute(statement).scalar_one()
    if number > 999_999:
        raise OverflowError(f"invoice numbers of {year} are exhausted (YYYY-NNNNNN)")
    return f"{year:04d}-{number:06d}"
