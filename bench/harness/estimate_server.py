"""The HTTP API with its clock fixed inside the generated month, for the estimate figure.

    python -m bench.harness.estimate_server --db URL --port 8123 --at 2026-10-20T12:00:00Z

`bysecond serve` acts at the real time, after the month: an estimate would then cover
an empty period. This is the same application (`create_app`) and server (uvicorn, one
worker), with `clock` reading the given instant.
"""

from __future__ import annotations

import argparse
from datetime import datetime

import uvicorn

from bysecond.api import create_app
from bysecond.settings import Settings
from bysecond.store.database import open_database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--at", required=True, type=datetime.fromisoformat)
    args = parser.parse_args()
    at: datetime = args.at
    if at.tzinfo is None:
        parser.error("--at needs a time zone, e.g. 2026-10-20T12:00:00Z")
    database = open_database(args.db)
    try:
        app = create_app(database, Settings.from_environment(), clock=lambda: at)
        uvicorn.run(app, host="127.0.0.1", port=args.port, access_log=False, log_level="warning")
    finally:
        database.close()


if __name__ == "__main__":
    main()
