"""The HTTP API (CONTRACT.md): FastAPI, one router per resource, problem+json errors."""

from .app import create_app

__all__ = ["create_app"]
