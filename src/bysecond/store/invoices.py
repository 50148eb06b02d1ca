"""Invoice numbers (R13): a gapless sequence per year, `YYYY-NNNNNN`."""

from __future__ import annotations

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from .schema import InvoiceSequence

LAST_NUMBER = 999_999  # YYYY-NNNNNN


def next_invoice_number(connection: Connection, year: int) -> str:
    """The next number of `year`, taken inside the transaction that finalises the invoice.

    The sequence row stays locked until that transaction ends: a rollback gives the
    number back (no gap) and a concurrent finaliser waits for it (no repeat).
    """
    number = _advance(connection, year, 1)
    if number > LAST_NUMBER:
        raise OverflowError(f"invoice numbers of {year} are exhausted (YYYY-NNNNNN)")
    return _text(year, number)


class InvoiceNumbers:
    """Numbers of one year for a batch of invoices, taken with one statement.

    The first `take()` moves the sequence forward by `capacity` inside the caller's
    transaction, which keeps the sequence row locked as `next_invoice_number` does;
    `close()` gives back, in the same transaction, what was not used. Committed, the
    sequence has moved by exactly the numbers used: no gap, no repeat (R13).
    """

    def __init__(self, connection: Connection, year: int, capacity: int) -> None:
        self._connection, self._year, self._capacity = connection, year, max(capacity, 1)
        self._next = self._last = 0  # nothing reserved yet

    def take(self) -> str:
        if self._next == 0:
            self._last = _advance(self._connection, self._year, self._capacity)
            self._next = self._last - self._capacity + 1
            if self._last > LAST_NUMBER:  # near the end of the year's numbers: one by one
                _advance(self._connection, self._year, -self._capacity)
                self._capacity, self._next = 0, -1
        if self._next < 0 or self._next > self._last:
            return next_invoice_number(self._connection, self._year)
        number, self._next = self._next, self._next + 1
        return _text(self._year, number)

    def close(self) -> None:
        """Give the unused numbers back; call it before the transaction commits."""
        if self._next > 0 and self._next <= self._last:
            _advance(self._connection, self._year, -(self._last - self._next + 1))
            self._last = self._next - 1


def _advance(connection: Connection, year: int, by: int) -> int:
    """Move the year's sequence by `by` and return its new last number."""
    if not 1 <= year <= 9999:
        raise ValueError(f"no invoice year {year}")
    dialect = sqlite if connection.dialect.name == "sqlite" else postgresql
    statement = dialect.insert(InvoiceSequence).values(year=year, last_number=by)
    statement = statement.on_conflict_do_update(
        index_elements=["year"],
        set_={"last_number": InvoiceSequence.__table__.c.last_number + by},
    ).returning(InvoiceSequence.last_number)
    return int(connection.execute(statement).scalar_one())


def _text(year: int, number: int) -> str:
    return f"{year:04d}-{number:06d}"
