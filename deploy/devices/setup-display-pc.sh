#!/usr/bin/env bash
# Sets up a lobby display PC (a TV with a small PC or a Raspberry Pi) from a fresh Debian 12 or
# later or Raspberry Pi OS: at every boot Chromium shows /display/{branch} full screen, looked after
# by `nextup watchdog`; the screen never blanks and shows no cursor; speech-dispatcher with espeak-ng
# gives Chromium a Mandarin and an English voice, offline, for the spoken calls. Run it again at any
# time: it changes only what differs. See docs/devices.md.
#
#   sudo deploy/devices/setup-display-pc.sh --server http://10.0.0.2:8000 --branch main
#
# No token is needed: at its first start the display shows a pairing code, which an administrator
# enters in /admin -> Devices -> Pair a device; the browser's profile keeps the pairing.
set -euo pipefail
# shellcheck source=deploy/devices/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
  cat <<'EOF_USAGE'
usage: setup-display-pc.sh --server URL --branch ID [options]
  --server URL     the NextUp server, e.g. http://10.0.0.2:8000
  --branch ID      the branch this display is in
  --lang zh|en     show and announce in one language only (default both)
  --counters LIST  show only these counters, e.g. 1,2 (one floor's share)
  --services LIST  show only these services, e.g. A,B
EOF_USAGE
  common_usage
}

server="" branch="" query=""
add_query() { query="${query:+$query&}$1=$2"; }
while [ $# -gt 0 ]; do
  shift_by=2
  case "$1" in
    --server) server=${2:-} ;;
    --branch) branch=${2:-} ;;
    --lang)
      case "${2:-}" in zh|en) add_query lang "$2" ;; *) die "--lang is zh or en" ;; esac ;;
    --counters|--services)
      [[ "${2:-}" =~ ^[A-Za-z0-9_.,-]+$ ]] || die "$1 lists ids separated by commas, e.g. 1,2"
      add_query "${1#--}" "$2" ;;
    -h|--help) usage; exit 0 ;;
    *) common_option "$@" || { usage >&2; die "unknown option $1"; } ;;
  esac
  shift "$shift_by"
done
if [ -z "$server" ] || [ -z "$branch" ]; then
  usage >&2
  die "--server and --branch are needed"
fi
check_url "$server" --server
[[ "$branch" =~ ^[A-Za-z0-9_-]+$ ]] || die "--branch is a branch id (letters, digits, - and _)"
url="${server%/}/display/$branch${query:+?$query}"

require_root
ensure_screen_packages
# The voices (Chromium speaks only through speech-dispatcher) and the sound server they play through.
audio=$(first_available pipewire-audio pulseaudio) || audio=""
ensure_packages speech-dispatcher speech-dispatcher-espeak-ng espeak-ng ${audio:+"$audio"}
ensure_user "$SCREEN_USER" "/var/lib/$SCREEN_USER" video audio input render
ensure_nextup
install_screen display "$url"
disable_display_manager
start_services nextup-screen.service
finish
