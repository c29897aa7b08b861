#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian machine and runs the whole suite, with the
# linter and the strict type check. The README's test command; .ci/run runs it too.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Browser tests drive Debian's chromium; CJK fonts so Chinese renders on pages and raster tickets.
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -d /usr/share/fonts/opentype/noto ] || missing+=(fonts-noto-cjk)
# nginx in front of several server processes (tests/scale/test_nginx.py).
[ -x /usr/sbin/nginx ] || missing+=(nginx)
# Device PCs (deploy/devices): their scripts' check, the display's voices, the screen's X session.
[ -x /usr/bin/shellcheck ] || missing+=(shellcheck)
[ -x /usr/lib/speech-dispatcher-modules/sd_espeak-ng ] || missing+=(speech-dispatcher-espeak-ng espeak-ng)
[ -x /usr/bin/Xvfb ] || missing+=(xvfb)
[ -x /usr/bin/xwininfo ] || missing+=(x11-utils)
[ -x /usr/bin/matchbox-window-manager ] || missing+=(matchbox-window-manager)
if [ ${#missing[@]} -gt 0 ]; then
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi

python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -e '.[test]'

.venv/bin/ruff check .
.venv/bin/mypy
# Two workers (the machine has two cores); each gets its own Redis database or embedded server.
.venv/bin/python -m pytest -n 2 "$@"
