"""The invoice document's bytes: one canonical JSON form, so R16 can be checked byte for byte.

The form: compact JSON, keys in the document's own order, text as UTF-8 (not escaped to
ASCII), Decimals written as exact numbers. `canonical_json` writes it with orjson;
`canonical_json_reference` is the same form written by hand, kept so the two can be
compared on any document (tests/unit/test_document_canonical.py).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import orjson


def canonical_json(value: Any) -> bytes:
    """Compact JSON in the document's own key order; Decimals written as exact numbers.

    A pre-written JSON part (`orjson.Fragment`, used by the batch billing path for a
    line's details) is copied as it is.
    """
    return orjson.dumps(value, default=_exact_number)


def split_document(document: Mapping[str, Any], head_fields: int) -> tuple[dict[str, Any], bytes]:
    """The first `head_fields` fields of a document, and the rest already written.

    The rest is the canonical JSON of the remaining fields without its opening brace;
    `join_document` puts the two back together, byte for byte what `canonical_json`
    writes of the whole. Fields that change later (an invoice's number when it is
    issued) stay in the head; the bulk is written once, and travels as bytes.
    """
    items = list(document.items())
    return dict(items[:head_fields]), canonical_json(dict(items[head_fields:]))[1:]


def join_document(head: Mapping[str, Any], rest: bytes) -> bytes:
    """`canonical_json` of the document `split_document` cut in two."""
    if not head:
        return b"{" + rest
    written = canonical_json(head)
    return written if rest == b"}" else written[:-1] + b"," + rest


def written_parts(head: Mapping[str, Any], rest: bytes) -> tuple[bytes, bytes]:
    """`join_document`'s bytes in two: the head's part, then the rest's.

    Their concatenation is the whole document. The store keeps the two apart, so that
    issuing an invoice rewrites only the few bytes of its head (store/schema.py).
    """
    return written_head(head), (rest if rest == b"}" or not head else b"," + rest)


def written_head(head: Mapping[str, Any]) -> bytes:
    """The head's part of `written_parts`, which does not depend on the rest."""
    return canonical_json(head)[:-1] if head else b"{"


def content_hash(document_bytes: bytes, *more: bytes) -> str:
    """R13: the hash a finalised document carries (SHA-256, hex); a document given in
    parts is hashed as their concatenation, without writing it out whole."""
    digest = hashlib.sha256(document_bytes)
    for part in more:
        digest.update(part)
    return digest.hexdigest()


def _exact_number(value: Any) -> orjson.Fragment:
    if isinstance(value, Decimal) and value.is_finite():
        return orjson.Fragment(format(value, "f"))
    raise TypeError(f"{type(value).__name__} has no place in an invoice document")


def canonical_json_reference(value: Any) -> bytes:
    """The canonical form written one value at a time (the specification of the form)."""
    parts: list[str] = []
    _write(value, parts)
    return "".join(parts).encode("utf-8")


def _write(value: Any, out: list[str]) -> None:
    if isinstance(value, dict):
        out.append("{")
        for position, (key, item) in enumerate(value.items()):
            if position:
                out.append(",")
            out.append(json.dumps(str(key), ensure_ascii=False))
            out.append(":")
            _write(item, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for position, item in enumerate(value):
            if position:
                out.append(",")
            _write(item, out)
        out.append("]")
    elif isinstance(value, bool) or value is None or isinstance(value, int | str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, Decimal) and value.is_finite():
        out.append(format(value, "f"))
    else:
        raise TypeError(f"{type(value).__name__} has no place in an invoice document")
