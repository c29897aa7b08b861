"""A schemathesis fuzz run of /api/openapi.json against the running server: no 5xx, no off-schema response."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Api
from tests.servers import ServerProcess

pytestmark = pytest.mark.redis

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
#: What the issue asks of the fuzz run. The stricter checks (is every schema-valid body accepted,
#: every invalid one refused) also flag rules a schema cannot state, such as one service per prefix.
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
#: Logging out and changing accounts would end the fuzzer's own session; failed logins would lock
#: the admin. Each has its own tests.
EXCLUDED = ("logout", "changeUser", "login")


def test_fuzzing_the_openapi_document_finds_no_server_error_and_no_off_schema_response(
    server: ServerProcess, api: Api, tmp_path: Path
) -> None:
    """Generated requests to every operation, as the admin, get declared statuses and schema-true bodies."""
    if not SCHEMATHESIS.exists():
        pytest.fail(f"{SCHEMATHESIS} is missing: install the test extras (pip install -e '.[test]')")
    settings = tmp_path / "schemathesis.toml"
    settings.write_text('[parameters]\n"path.branch" = "main"\n', encoding="utf-8")
    command = [str(SCHEMATHESIS), "--config-file", str(settings), "run", f"{server.url}/api/openapi.json",
               "--header", f"Authorization: Bearer {api.admin()}", "--checks", CHECKS, "--max-examples", "15",
               "--workers", "1", "--seed", "5", "--request-timeout", "10", "--continue-on-failure",
               "--phases", "coverage,fuzzing", "--no-color"]  # fmt: skip
    # One worker: schemathesis's workers are threads, and CPython 3.11's AST validation (which
    # hypothesis uses) is not thread-safe ("AST constructor recursion depth mismatch").
    for operation in EXCLUDED:
        command += ["--exclude-operation-id", operation]
    run = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, (run.stdout + run.stderr)[-6000:]
