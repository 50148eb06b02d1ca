"""R16: the document's bytes. `canonical_json` (orjson) writes exactly the form that
`canonical_json_reference` specifies, on any document-shaped value."""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bysecond.core.document import (
    canonical_json,
    canonical_json_reference,
    join_document,
    split_document,
)

text = st.text(st.characters(exclude_categories=("Cs",)))  # no lone surrogates in UTF-8
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | text
    | st.decimals(allow_nan=False, allow_infinity=False, places=12)
)
documents = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(text, inner, max_size=5),
    max_leaves=30,
)


@given(documents)
def test_R16_both_writers_give_the_same_bytes(document: object) -> None:
    assert canonical_json(document) == canonical_json_reference(document)


def test_R16_decimals_are_exact_numbers_and_text_is_not_escaped_to_ascii() -> None:
    document = {"amount": Decimal("0.021166666667"), "name": 'Société "Ω"\n', "n": 762}
    expected = b'{"amount":0.021166666667,"name":"Soci\xc3\xa9t\xc3\xa9 \\"\xce\xa9\\"\\n","n":762}'
    assert canonical_json(document) == expected == canonical_json_reference(document)


def test_R7_a_float_has_no_place_in_a_document_written_by_hand() -> None:
    with pytest.raises(TypeError):
        canonical_json_reference({"amount": 0.1})


def test_a_line_written_in_columns_is_copied_as_it_is() -> None:
    details = b'[{"amount":"0.021166666667"}]'
    document = {"details": orjson.Fragment(details)}
    assert canonical_json(document) == b'{"details":' + details + b"}"


@given(st.dictionaries(text, documents, max_size=8), st.integers(0, 9))
def test_R16_a_document_cut_in_two_joins_back_to_the_same_bytes(
    document: dict[str, object], head_fields: int
) -> None:
    head, rest = split_document(document, head_fields)
    assert list(head) == list(document)[:head_fields]
    assert join_document(head, rest) == canonical_json(document)
