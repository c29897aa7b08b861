"""The OpenAPI 3.1 description of the HTTP API, served at ``/api/openapi.json``.

Each schema states what ``server/api.py`` and ``server/http.py`` check, no more and no less, so that
a fuzzer reading it (schemathesis) gets 2xx for what the schema allows and 4xx for the rest.
``tests/test_openapi.py`` holds it to the app's routes and to real responses;
``tests/test_bad_input.py`` holds it to every refusal. docs/api.md is the human version.

The parts: ``parts`` (patterns, limits, schema helpers, errors, operations), ``schemas`` and
``paths`` (queue and administration), ``phone`` (the phone page's endpoints).
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

from server.config import Branch
from server.openapi.parts import MAX_BODY_BYTES, error_responses
from server.openapi.paths import paths
from server.openapi.schemas import schemas


def document(branch: Branch | None = None) -> dict[str, Any]:
    """The document; given the branch, path and field values are narrowed to its ids."""
    try:
        version = metadata.version("nextup")
    except metadata.PackageNotFoundError:
        version = "0"
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "NextUp",
            "version": version,
            "summary": "Queue management (叫号) for service halls.",
            "description": 'Errors are JSON: {"error": {"code", "message", ...}}; programs test `code`. '
            f"Request bodies are JSON objects of at most {MAX_BODY_BYTES // 1024} KiB. See docs/api.md.",
        },
        "paths": paths(branch),
        "components": {
            "schemas": schemas(branch),
            "responses": error_responses(),
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "nxt1.<payload>.<signature>"},
                "cookieAuth": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "nextup_session",
                    "description": "The staff pages' session (set by POST /login). Changes made with it "
                    "also need the X-CSRF-Token header (GET /api/session gives it).",
                },
            },
        },
        "security": [{"bearerAuth": []}, {"cookieAuth": []}],
    }
