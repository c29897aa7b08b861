"""The OpenAPI 3.1 description of the HTTP API, served at ``/api/openapi.json``.

Its schemas are generated (``components``) from the shapes that check requests and write replies
(``server.shapes``), so what it states is what the server checks and sends, and a fuzzer reading
it (schemathesis) gets 2xx for what the schema allows and 4xx for the rest.
``tests/test_openapi.py`` holds it to the app's routes and to real responses;
``tests/test_bad_input.py`` holds it to every refusal. docs/api.md is the human version.

The parts: ``components`` (the schemas), ``parts`` (error responses, operations), ``paths``
(the queue, logging in, accounts, pairing), ``admin`` (the session, account changes, configuration,
notices, audit, devices) and ``phone`` (the phone page's endpoints).
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

from server.config import Branch
from server.openapi.components import schemas
from server.openapi.parts import MAX_BODY_BYTES, error_responses
from server.openapi.paths import paths


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
