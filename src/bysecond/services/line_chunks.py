"""JSON Lines cut into chunks of whole lines, kept as the bytes they were read as.

Bulk ingestion hands each chunk to a writing process. Read line by line, the calling
process made an object per event and packed them all again to send them; cut here, a
chunk is a few large blocks of bytes, counted and cut in C (`bytes.count`,
`bytes.index`), and only the process that validates it splits it into lines.

A chunk's lines are exactly those iterating over the inputs in binary mode gives: cut
at b"\\n" only (a b"\\r" stays inside its line), each line keeping its b"\\n", an
input's last line kept even without one, and never joined to the next input's first.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LineChunk:
    """`count` lines in `blocks` of bytes. Each block holds whole lines of one input;
    a block may end without b"\\n" only where its input does."""

    blocks: tuple[bytes, ...]
    count: int

    def __len__(self) -> int:
        return self.count

    def lines(self) -> list[bytes]:
        lines: list[bytes] = []
        for block in self.blocks:
            lines.extend(io.BytesIO(block))
        return lines


class LineCutter:
    """Cuts the bytes of one input after another into chunks of `size` lines.

    `feed` takes any piece of the current input, `end_input` closes it (its last line
    without b"\\n" then counts), `finish` gives what is left once every input is read.
    `lines_seen` counts the lines closed so far: the index of the next input's first.
    """

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("a chunk holds at least one line")
        self.size = size
        self.lines_seen = 0
        self._blocks: list[bytes] = []
        self._count = 0  # lines in self._blocks
        self._tail = b""  # the current input's line not ended yet

    def feed(self, data: bytes) -> Iterator[LineChunk]:
        if self._tail:
            data = self._tail + data
        cut = data.rfind(b"\n") + 1
        self._tail = data[cut:]
        if not cut:
            return
        whole = data[:cut] if cut < len(data) else data
        lines = whole.count(b"\n")
        self.lines_seen += lines
        start = 0
        while self._count + lines >= self.size:
            wanted = self.size - self._count
            end = _after_lines(whole, start, wanted)
            yield self._take(whole[start:end], wanted)
            start, lines = end, lines - wanted
        if lines:
            self._blocks.append(whole[start:] if start else whole)
            self._count += lines

    def end_input(self) -> Iterator[LineChunk]:
        if not self._tail:
            return
        tail, self._tail = self._tail, b""
        self.lines_seen += 1
        if self._count + 1 == self.size:
            yield self._take(tail, 1)
        else:
            self._blocks.append(tail)
            self._count += 1

    def finish(self) -> Iterator[LineChunk]:
        yield from self.end_input()
        if self._count:
            yield self._take(b"", 0)

    def _take(self, block: bytes, lines: int) -> LineChunk:
        blocks = (*self._blocks, block) if block else tuple(self._blocks)
        chunk = LineChunk(blocks, self._count + lines)
        self._blocks, self._count = [], 0
        return chunk


def _after_lines(data: bytes, start: int, lines: int) -> int:
    """The offset just after the `lines`-th b"\\n" of `data` from `start` (there are)."""
    index = data.index
    for _ in range(lines):
        start = index(b"\n", start) + 1
    return start
