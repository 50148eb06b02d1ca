"""`python -m bench`: generate, ingest, bill, estimate, render and compare with a floor.

    .venv/bin/python -m bench                          # sizes S and M, 3 runs each
    .venv/bin/python -m bench --sizes S,M,L --repeat 3,L=1
    .venv/bin/python -m bench --sizes XS --repeat 1 --targets sqlite   # a smoke run

Results go to bench/results/latest.md and latest.json; `--help` lists every option.
"""

from __future__ import annotations

import sys

from bench.harness.main import main

if __name__ == "__main__":
    sys.exit(main())
