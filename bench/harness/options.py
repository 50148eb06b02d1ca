"""The command line of `python -m bench`."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from .datasets import SIZES
from .stores import DEFAULT_POSTGRESQL, TARGETS

BENCH: Final = Path(__file__).resolve().parents[1]
MEASURES: Final = ("ingest", "http", "billing", "estimate", "pdf", "floor")


@dataclass(frozen=True)
class Options:
    sizes: list[str]
    repeat: int
    repeat_by_size: dict[str, int]
    targets: list[str]
    measures: list[str]
    postgresql: str
    data: Path
    output: Path
    write_results: Path | None
    estimate_requests: int
    estimate_warmup: int
    pdf_invoices: int
    http_concurrency: int
    floor_repeat: int | None
    bill_args: list[str]

    def repeats(self, size: str) -> int:
        return self.repeat_by_size.get(size, self.repeat)

    def floor_repeats(self, size: str) -> int:
        # The floor query is cheap next to a billing run: at least 3 runs for a steady median.
        return self.floor_repeat or max(self.repeats(size), 3)


def parse(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="bysecond's benchmarks (issue 8): ingest, billing run, estimate latency,"
        " memory and PDF rendering, against a DuckDB floor measured in the same run.",
    )
    parser.add_argument(
        "--sizes",
        default="S,M",
        help="comma-separated among XS (~5k events), S (100k), M (1M), L (10M); default S,M",
    )
    parser.add_argument(
        "--repeat",
        action="append",
        default=[],
        metavar="K|SIZE=K",
        help="runs of each measure (default 3); SIZE=K for one size, e.g. --repeat 3,L=1",
    )
    parser.add_argument("--targets", default=",".join(TARGETS), help="sqlite,postgresql")
    parser.add_argument(
        "--measures", default=",".join(MEASURES), help=f"a subset of {','.join(MEASURES)}"
    )
    parser.add_argument(
        "--postgresql",
        default=DEFAULT_POSTGRESQL,
        metavar="URL",
        help="maintenance database: a database is created and dropped there per run",
    )
    parser.add_argument("--data", type=Path, default=BENCH / "data", help="generated files")
    parser.add_argument(
        "--output", type=Path, default=BENCH / "results", help="where latest.md/.json go"
    )
    parser.add_argument(
        "--write-results",
        type=Path,
        metavar="FILE",
        help="also merge the table into FILE (e.g. bench/RESULTS.md), between markers",
    )
    parser.add_argument("--estimate-requests", type=int, default=300, metavar="N")
    parser.add_argument("--estimate-warmup", type=int, default=20, metavar="N")
    parser.add_argument("--pdf-invoices", type=int, default=50, metavar="N")
    parser.add_argument("--http-concurrency", type=int, default=4, metavar="N")
    parser.add_argument(
        "--floor-repeat", type=int, metavar="K", help="floor query runs (default max(K, 3))"
    )
    parser.add_argument(
        "--bill-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="one more argument for both `bysecond bill` commands (repeatable),"
        " e.g. --bill-arg=--workers --bill-arg=2",
    )
    args = parser.parse_args(argv)

    sizes = _choices(parser, "--sizes", args.sizes, tuple(SIZES))
    targets = _choices(parser, "--targets", args.targets, TARGETS)
    measures = _choices(parser, "--measures", args.measures, MEASURES)
    repeat, by_size = 3, {}
    for item in ",".join(args.repeat).split(","):
        if not item.strip():
            continue
        size, _, count = item.strip().rpartition("=")
        if size and size not in SIZES:
            parser.error(f"--repeat {item}: unknown size {size!r}")
        if not count.isdigit() or int(count) < 1:
            parser.error(f"--repeat {item}: a count of at least 1")
        if size:
            by_size[size] = int(count)
        else:
            repeat = int(count)
    for name in ("estimate_requests", "pdf_invoices", "http_concurrency"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    return Options(
        sizes=sizes,
        repeat=repeat,
        repeat_by_size=by_size,
        targets=targets,
        measures=measures,
        postgresql=args.postgresql,
        data=args.data,
        output=args.output,
        write_results=args.write_results,
        estimate_requests=args.estimate_requests,
        estimate_warmup=args.estimate_warmup,
        pdf_invoices=args.pdf_invoices,
        http_concurrency=args.http_concurrency,
        floor_repeat=args.floor_repeat,
        bill_args=args.bill_arg,
    )


def _choices(
    parser: argparse.ArgumentParser, flag: str, text: str, known: tuple[str, ...]
) -> list[str]:
    chosen = [item.strip() for item in text.split(",") if item.strip()]
    unknown = [item for item in chosen if item not in known]
    if unknown or not chosen:
        parser.error(f"{flag}: choose among {', '.join(known)} (got {text!r})")
    # Kept in the canonical order whatever the order given: S before M, sqlite first.
    return [item for item in known if item in chosen]
