"""Progress goes to standard error, so standard output stays free for programs."""

from __future__ import annotations

from rich.console import Console

console = Console(stderr=True, highlight=False, log_path=False)


class BenchError(RuntimeError):
    """A run that cannot give a trustworthy figure: a command failed or a check did not hold."""
