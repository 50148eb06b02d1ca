"""Print the API's OpenAPI document, as served at /v1/openapi.json.

    python -m bysecond.api.openapi > docs/openapi.json

regenerates the copy kept in the repository; a test fails when the two differ.
"""

from __future__ import annotations

import json
import sys

from bysecond.settings import Settings

from .app import build_app


def openapi_text() -> str:
    return json.dumps(build_app(Settings()).openapi(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(openapi_text())
