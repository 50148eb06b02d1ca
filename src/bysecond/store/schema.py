"""The tables, as typed SQLAlchemy 2 declarative classes.

These classes are storage records only: services turn them into core values or API
schemas, never pass them outward. The migrations in `store/migrations` create exactly
this schema (a test compares them), with the immutability triggers added by hand.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Final

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from bysecond.core.invoice import stored_parts

from .types import ExactDecimal, Instant

DEFAULT_TIME_ZONE: Final = "UTC"
DEFAULT_POLICY: Final = "per-second"
DEFAULT_VAT_RATE: Final = Decimal("0.20")
DEFAULT_CURRENCY: Final = "EUR"
DEFAULT_LOCALE: Final = "en"

GRANT_KINDS: Final = ("promotional", "prepaid")
LEDGER_KINDS: Final = ("granted", "applied", "expired", "returned")
INVOICE_STATUSES: Final = ("draft", "finalized", "paid")

# Constraint names are explicit so that migrations and error messages can refer to them.
NAMING: Final = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite has no BIGINT rowid alias: INTEGER PRIMARY KEY is the one that autoincrements.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Organization(Base):
    """A customer. Registered on the fly by its first event; the profile comes later."""

    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    country: Mapped[str | None] = mapped_column(String(2))
    vat_number: Mapped[str | None] = mapped_column(String(32))
    time_zone: Mapped[str] = mapped_column(  # R1: the billing time zone, an IANA name
        String(64), default=DEFAULT_TIME_ZONE, server_default=DEFAULT_TIME_ZONE
    )
    policy: Mapped[str] = mapped_column(  # R6
        String(64), default=DEFAULT_POLICY, server_default=DEFAULT_POLICY
    )
    vat_rate: Mapped[Decimal] = mapped_column(  # R11
        ExactDecimal, default=DEFAULT_VAT_RATE, server_default=str(DEFAULT_VAT_RATE)
    )
    currency: Mapped[str] = mapped_column(
        String(3), default=DEFAULT_CURRENCY, server_default=DEFAULT_CURRENCY
    )
    locale: Mapped[str] = mapped_column(
        String(16), default=DEFAULT_LOCALE, server_default=DEFAULT_LOCALE
    )
    postpaid: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(Instant)


class Application(Base):
    __tablename__ = "applications"

    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str | None] = mapped_column(Text)


class Addon(Base):
    __tablename__ = "addons"

    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    provider: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(Text)


class StoredEvent(Base):
    """A usage event as received (canonical JSON), plus the columns queries need.

    `seq` is the arrival order, for people reading the table; billing orders by `time`
    (R3). Billing reads "every event of one organisation before T", which the index
    (organization_id, time) answers as one range scan.
    """

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("source", "id"),  # R3: an event is identified by (source, id)
        Index("ix_events_organization_id_time", "organization_id", "time"),
    )

    seq: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    source: Mapped[str] = mapped_column(Text)
    id: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(64))
    time: Mapped[datetime] = mapped_column(Instant)
    # No foreign key: the ingesting transaction registers the organisation of every
    # event it accepts, and organisations are never deleted. On PostgreSQL a foreign key
    # is a trigger run per event, a third of the cost of a bulk insert.
    organization_id: Mapped[str] = mapped_column(String(128))
    resource_id: Mapped[str] = mapped_column(Text)
    payload_hash: Mapped[bytes] = mapped_column(LargeBinary(32))  # sha256 of `document`
    received_at: Mapped[datetime] = mapped_column(Instant)
    document: Mapped[str] = mapped_column(Text)  # the CloudEvent, canonical JSON


class OpeningState(Base):
    """What an organisation's events before `at` leave open and named
    (core.metering.Opening, stored as core/opening.py writes it), so that billing a
    period that starts at `at` reads the period's events only, not every earlier one.

    Derived from the events, never a source: it is read only while `events_before` is
    still the organisation's count of events before `at` (events are only ever added,
    R3: the same count is the same events), and written again, replacing the row,
    whenever a billing run computes it.
    """

    __tablename__ = "opening_states"

    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    at: Mapped[datetime] = mapped_column(Instant, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)  # core.opening.OPENING_VERSION
    events_before: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[bytes] = mapped_column(LargeBinary)


class Anomaly(Base):
    """R4: usage that could not be billed as sent is reported, never dropped."""

    __tablename__ = "anomalies"
    __table_args__ = (Index("ix_anomalies_organization_id_time", "organization_id", "time"),)

    seq: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    kind: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(Text)
    event_id: Mapped[str] = mapped_column(Text)
    resource_id: Mapped[str] = mapped_column(Text)
    time: Mapped[datetime] = mapped_column(Instant)
    message: Mapped[str] = mapped_column(Text)


class StoredPrice(Base):
    """R5: `(key, amount, currency, unit, effective_from[, effective_to])`."""

    __tablename__ = "prices"
    __table_args__ = (UniqueConstraint("key", "currency", "effective_from"),)

    seq: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    key: Mapped[str] = mapped_column(String(128))
    amount: Mapped[Decimal] = mapped_column(ExactDecimal)
    currency: Mapped[str] = mapped_column(String(3))
    unit: Mapped[str] = mapped_column(String(32))
    effective_from: Mapped[datetime] = mapped_column(Instant)
    effective_to: Mapped[datetime | None] = mapped_column(Instant)


class CreditGrant(Base):
    """R10: `(id, kind, amount, currency, granted_at, expires_at?, priority=0)`."""

    __tablename__ = "credit_grants"
    __table_args__ = (
        CheckConstraint(_one_of("kind", GRANT_KINDS), name="kind"),
        # R10: prepaid credit is bought by the customer and never expires.
        CheckConstraint("kind = 'promotional' OR expires_at IS NULL", name="prepaid_never_expires"),
        Index("ix_credit_grants_organization_id", "organization_id"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal] = mapped_column(ExactDecimal)
    currency: Mapped[str] = mapped_column(String(3))
    granted_at: Mapped[datetime] = mapped_column(Instant)
    expires_at: Mapped[datetime | None] = mapped_column(Instant)
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    reason: Mapped[str | None] = mapped_column(Text)


class LedgerEntry(Base):
    """One movement of a grant. Append-only: balances are folds over these (invariant 4)."""

    __tablename__ = "credit_ledger"
    __table_args__ = (
        CheckConstraint(_one_of("kind", LEDGER_KINDS), name="kind"),
        Index("ix_credit_ledger_organization_id_at", "organization_id", "at"),
        Index("ix_credit_ledger_grant_id", "grant_id"),
    )

    id: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    grant_id: Mapped[str] = mapped_column(ForeignKey("credit_grants.id"))
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    invoice_id: Mapped[str | None] = mapped_column(ForeignKey("invoices.id"))
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal] = mapped_column(ExactDecimal)
    at: Mapped[datetime] = mapped_column(Instant)


class Invoice(Base):
    """R13: draft (no number) -> finalized (numbered, hashed, frozen) -> paid."""

    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("organization_id", "period"),
        CheckConstraint(_one_of("status", INVOICE_STATUSES), name="status"),
        CheckConstraint(
            "(status = 'draft' AND number IS NULL) OR (status <> 'draft' AND number IS NOT NULL"
            " AND content_hash IS NOT NULL AND issued_at IS NOT NULL)",
            name="numbered_when_issued",
        ),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    period: Mapped[str] = mapped_column(String(7))  # 'YYYY-MM' in the billing time zone
    status: Mapped[str] = mapped_column(String(16), default="draft", server_default="draft")
    number: Mapped[str | None] = mapped_column(String(16), unique=True)  # 'YYYY-NNNNNN'
    # The document's exact JSON bytes are `head` then `InvoiceBody.rest`. The head runs
    # through the fields issuing sets (number, status, issued_at: a few hundred bytes);
    # the rest, 10-100 KB with a detail per instance run, is written when the invoice is
    # computed and never when it is issued, so issuing rewrites a small row only.
    head: Mapped[bytes] = mapped_column(LargeBinary)
    content_hash: Mapped[str | None] = mapped_column(String(64))  # sha256 hex of the document
    issued_at: Mapped[datetime | None] = mapped_column(Instant)
    # What the document was computed from (batch/inputs.py), written by the batch path:
    # a draft whose inputs hash the same is issued as it stands. Not part of the document.
    inputs_hash: Mapped[str | None] = mapped_column(String(64))
    # The period's bounds in the time zone it was billed in (R1), as the document gives
    # them: late usage (R14) is looked for between them without reading the document.
    # Empty only for a document written without a period (migration 0006).
    period_start: Mapped[datetime | None] = mapped_column(Instant)
    period_end: Mapped[datetime | None] = mapped_column(Instant)
    body: Mapped[InvoiceBody] = relationship(
        lazy="selectin", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def document(self) -> bytes:
        """The document's exact bytes."""
        return self.head + self.body.rest

    @document.setter
    def document(self, written: bytes) -> None:
        head, rest = stored_parts(written)
        self.set_document(head, rest)

    def set_document(self, head: bytes, rest: bytes | None) -> None:
        """The document as its two parts; a rest of None keeps the stored one."""
        self.head = head
        if rest is None:
            return
        body: InvoiceBody | None = self.body  # None only for a new invoice
        if body is None:
            self.body = InvoiceBody(rest=rest)
        else:
            body.rest = rest


class InvoiceBody(Base):
    """The bytes of an invoice's document after its head (`Invoice.head`). Like the head,
    they never change once the invoice is issued (R13, store/immutability.py)."""

    __tablename__ = "invoice_bodies"

    invoice_id: Mapped[str] = mapped_column(
        ForeignKey("invoices.id", ondelete="CASCADE"), primary_key=True
    )
    rest: Mapped[bytes] = mapped_column(LargeBinary)


class CreditNote(Base):
    """R13: the correction of an issued invoice. It takes its number from the invoices'
    yearly sequence, carries its own document and hash, and is never changed or deleted
    once written (store/immutability.py and the triggers of migration 0002)."""

    __tablename__ = "credit_notes"
    __table_args__ = (
        Index("ix_credit_notes_organization_id", "organization_id"),
        Index("ix_credit_notes_invoice_id", "invoice_id"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"))  # the one it corrects
    # 'YYYY-NNNNNN', drawn from the same sequence as invoice numbers: no number is ever
    # both an invoice's and a credit note's.
    number: Mapped[str] = mapped_column(String(16), unique=True)
    document: Mapped[bytes] = mapped_column(LargeBinary)  # the exact JSON bytes
    content_hash: Mapped[str] = mapped_column(String(64))  # sha256 hex of `document`
    issued_at: Mapped[datetime] = mapped_column(Instant)
    reason: Mapped[str] = mapped_column(Text)


class InvoiceSequence(Base):
    """R13: the last number given in a year; bumped in the finalising transaction."""

    __tablename__ = "invoice_sequences"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(Integer)


class ApiKey(Base):
    """A bearer key, kept as its hash. No organisation means an operator key."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(128), unique=True)
    organization_id: Mapped[str | None] = mapped_column(ForeignKey("organizations.id"))
    name: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Instant)
    revoked_at: Mapped[datetime | None] = mapped_column(Instant)


class IdempotencyKey(Base):
    """A request already answered: the same key and request get the same answer again."""

    __tablename__ = "idempotency_keys"

    api_key_id: Mapped[str] = mapped_column(ForeignKey("api_keys.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)  # None while in progress
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(Instant)
