"""JSON Lines cut into chunks of whole lines (services/line_chunks.py): the lines are
exactly those reading the inputs line by line gives, in chunks of the size asked."""

from __future__ import annotations

import io
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bysecond.services.line_chunks import LineChunk, LineCutter

# Lines of any bytes, b"\r", blank lines and inputs without a final b"\n" included.
_BYTES = st.binary(max_size=40) | st.sampled_from([b"", b"\n", b"\r", b"\r\n", b"{}\n\n"])
_INPUTS = st.lists(st.lists(_BYTES, max_size=12).map(b"".join), max_size=5)


def _cut(inputs: list[bytes], size: int, block: int) -> tuple[list[LineChunk], list[int]]:
    """Every chunk, and the index of each input's first line, feeding `block` bytes at a time."""
    cutter = LineCutter(size)
    chunks: list[LineChunk] = []
    starts = []
    for data in inputs:
        starts.append(cutter.lines_seen)
        for at in range(0, len(data), block):
            chunks.extend(cutter.feed(data[at : at + block]))
        chunks.extend(cutter.end_input())
    chunks.extend(cutter.finish())
    return chunks, starts


def _read_line_by_line(inputs: list[bytes]) -> tuple[list[bytes], list[int]]:
    lines: list[bytes] = []
    starts = []
    for data in inputs:
        starts.append(len(lines))
        lines.extend(io.BufferedReader(io.BytesIO(data)))  # as `for line in file`
    return lines, starts


@given(_INPUTS, st.integers(1, 7), st.integers(1, 50))
def test_chunks_hold_the_lines_of_a_line_by_line_reading_in_order(
    inputs: list[bytes], size: int, block: int
) -> None:
    chunks, starts = _cut(inputs, size, block)
    expected, expected_starts = _read_line_by_line(inputs)
    assert [line for chunk in chunks for line in chunk.lines()] == expected
    assert starts == expected_starts
    assert [len(chunk) for chunk in chunks] == [len(chunk.lines()) for chunk in chunks]
    # Every chunk is full but the last, and none is empty.
    assert all(len(chunk) == size for chunk in chunks[:-1])
    assert all(0 < len(chunk) <= size for chunk in chunks)


def test_an_input_without_a_final_newline_keeps_its_last_line_apart() -> None:
    chunks, starts = _cut([b'{"a":1}\n{"b":2}', b'{"c":3}\n'], size=10, block=4)
    (chunk,) = chunks
    assert chunk.lines() == [b'{"a":1}\n', b'{"b":2}', b'{"c":3}\n']
    assert chunk.count == 3
    assert starts == [0, 2]


def test_a_carriage_return_does_not_cut_a_line() -> None:
    (chunk,) = _cut([b"a\rb\r\nc\n"], size=5, block=100)[0]
    assert chunk.lines() == [b"a\rb\r\n", b"c\n"]


def test_a_chunk_travels_between_processes_as_it_is() -> None:
    (chunk,) = _cut([b"x\ny\n", b"z"], size=3, block=1)[0]
    assert pickle.loads(pickle.dumps(chunk)) == chunk


def test_a_chunk_holds_at_least_one_line() -> None:
    with pytest.raises(ValueError, match="at least one line"):
        LineCutter(0)
