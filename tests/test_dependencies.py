"""The product imports only what `pip install .` installs: no test extra behind `nextup serve`."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("server", "kiosk", "printer", "display")


def runtime_distributions() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = {re.split(r"[\[<>=!~ ;]", spec, maxsplit=1)[0] for spec in project["dependencies"]}
    return {name.lower().replace("_", "-") for name in names}


def imported_modules() -> dict[str, str]:
    """Top-level module -> a file importing it, over the product's packages."""
    found: dict[str, str] = {}
    for package in PRODUCT:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    found.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    return found


def test_every_third_party_import_is_a_runtime_dependency() -> None:
    declared = runtime_distributions()
    providers = packages_distributions()
    missing = {}
    for module, where in imported_modules().items():
        if module in sys.stdlib_module_names or module in PRODUCT or module == "__future__":
            continue
        distributions = {d.lower().replace("_", "-") for d in providers.get(module, [module])}
        # Installed through a declared one's extras: uvicorn[standard] brings uvloop,
        # python-escpos[usb,serial] brings pyusb and pyserial.
        if not distributions & declared and module not in ("usb", "serial", "uvloop"):
            missing[module] = where
    assert missing == {}, f"imported by the product but not in [project] dependencies: {missing}"
