"""R13: an issued invoice's content hash, computed where the rest of its document is.

Issuing a draft taken as it stands writes its head alone (store/schema.py); the hash of
the whole document, `core.document.content_hash(head, rest)`, is then computed by the
statement that writes the head, from the rest the store already holds: the rest, most of
the document's bytes, is not read out of the store and carried to the writer for it.

PostgreSQL hashes with its own `sha256()`. SQLite has no hash function of its own: every
connection bysecond opens registers `bysecond_sha256_hex` (store/database.py), which is
Python's hashlib over the same bytes.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import ColumnElement, String, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from .schema import InvoiceBody

SQLITE_FUNCTION = "bysecond_sha256_hex"


def sha256_hex(head: bytes | None, rest: bytes | None) -> str:
    """SQLite's `bysecond_sha256_hex(head, rest)`: SHA-256 of the two, in hex."""
    if head is None or rest is None:  # never NULL: a missing rest is an error, not a hash
        raise ValueError("an issued document's head or rest is missing")
    digest = hashlib.sha256(head)
    digest.update(rest)
    return digest.hexdigest()


class issued_document_hash(FunctionElement[str]):  # named as the SQL function it is
    """`issued_document_hash(head, invoice_id)`: the content hash of the document made of
    `head` (bytes) followed by the stored rest of invoice `invoice_id`."""

    type = String()
    name = "issued_document_hash"
    inherit_cache = True


def _stored_rest(invoice_id: ColumnElement[Any]) -> ColumnElement[bytes]:
    return select(InvoiceBody.rest).where(InvoiceBody.invoice_id == invoice_id).scalar_subquery()


@compiles(issued_document_hash, "postgresql")
def _on_postgresql(element: issued_document_hash, compiler: SQLCompiler, **kw: Any) -> str:
    head, invoice_id = element.clauses
    whole = head.op("||")(_stored_rest(invoice_id))
    return compiler.process(func.encode(func.sha256(whole), "hex"), **kw)


@compiles(issued_document_hash, "sqlite")
def _on_sqlite(element: issued_document_hash, compiler: SQLCompiler, **kw: Any) -> str:
    head, invoice_id = element.clauses
    hashed = getattr(func, SQLITE_FUNCTION)(head, _stored_rest(invoice_id))
    return compiler.process(hashed, **kw)
