"""The request body limit, enforced while the body is read, never after.

A declared Content-Length over the limit is answered 413 before any byte is read. A body
without one (chunked) is counted as it arrives and refused as soon as it passes the
limit, so no request makes the server hold more than the limit in memory.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .problems import Problem, problem_response


def too_large(limit: int) -> Problem:
    return Problem(413, f"the request body is larger than {limit} bytes")


class BodyLimit:
    """Pure ASGI middleware: no buffering, no per-request task."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            problem = too_large(self.max_bytes)
            response = problem_response(413, str(problem.detail), scope["path"])
            await response(scope, receive, send)
            return
        limit = self.max_bytes
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise too_large(limit)  # answered by the problem handler
            return message

        await self.app(scope, limited_receive, send)
