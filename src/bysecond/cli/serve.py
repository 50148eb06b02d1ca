"""`bysecond serve [--host] [--port]`: the HTTP API over the configured database."""

from __future__ import annotations

from typing import Annotated

import typer

from . import context
from .options import DbOption, open_or_exit


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="The port.")] = 8000,
    access_log: Annotated[
        bool, typer.Option("--access-log/--no-access-log", help="Log every request.")
    ] = True,
    db: DbOption = None,
) -> None:
    """Run the HTTP API (/v1, its OpenAPI document at /v1/openapi.json) until interrupted.

    Create a key first: `bysecond keys create --operator`.
    """
    import uvicorn

    from bysecond.api import create_app

    settings = context.settings()
    database = open_or_exit(ctx, db)
    try:
        uvicorn.run(
            create_app(database, settings),
            host=host,
            port=port,
            access_log=access_log,
            server_header=False,
            log_level="info",
        )
    finally:
        database.close()
