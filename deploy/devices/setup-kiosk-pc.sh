#!/usr/bin/env bash
# Sets up a ticket kiosk PC (a touch screen PC with a thermal printer) from a fresh Debian 12 or
# later or Raspberry Pi OS: `nextup kiosk` under systemd (restarted whenever it ends), and at every
# boot Chromium full screen on its touch page, looked after by `nextup watchdog`; the screen never
# blanks and shows no cursor. Run it again at any time: it changes only what differs. See
# docs/devices.md and kiosk/README.md.
#
#   sudo deploy/devices/setup-kiosk-pc.sh --server http://10.0.0.2:8000 --branch main \
#     --printer tcp://10.0.0.9:9100 --paper 80 --text-mode gb18030
#
# No token is needed: at its first start the kiosk shows a pairing code on its screen, which an
# administrator enters in /admin -> Devices -> Pair a device; the kiosk keeps its credential in
# /var/lib/nextup-kiosk (readable by the kiosk's account only).
set -euo pipefail
# shellcheck source=deploy/devices/lib.sh
. "$(dirname "$0")/lib.sh"

usage() {
  cat <<'EOF_USAGE'
usage: setup-kiosk-pc.sh --server URL --branch ID --printer URL [options]
  --server URL        the NextUp server, e.g. http://10.0.0.2:8000
  --branch ID         the branch this kiosk is in
  --printer URL       tcp://HOST[:9100], usb://VID:PID, serial:///dev/ttyUSB0, file:///dev/usb/lp0, cups://QUEUE
  --paper 58|80       paper width in mm (default 80)
  --text-mode MODE    gb18030 for printers with a Chinese font (default), raster for the others
  --public-url URL    the server address customers' phones reach, for the QR code (default --server)
EOF_USAGE
  common_usage
}

server="" branch="" printer="" paper=80 text_mode=gb18030 public_url=""
while [ $# -gt 0 ]; do
  shift_by=2
  case "$1" in
    --server) server=${2:-} ;;
    --branch) branch=${2:-} ;;
    --printer) printer=${2:-} ;;
    --paper) paper=${2:-} ;;
    --text-mode) text_mode=${2:-} ;;
    --public-url) public_url=${2:-} ;;
    -h|--help) usage; exit 0 ;;
    *) common_option "$@" || { usage >&2; die "unknown option $1"; } ;;
  esac
  shift "$shift_by"
done
if [ -z "$server" ] || [ -z "$branch" ] || [ -z "$printer" ]; then
  usage >&2
  die "--server, --branch and --printer are needed"
fi
check_url "$server" --server
[ -z "$public_url" ] || check_url "$public_url" --public-url
[[ "$branch" =~ ^[A-Za-z0-9_-]+$ ]] || die "--branch is a branch id (letters, digits, - and _)"
# The options go into a systemd unit: no spaces, quotes, % or $ in them.
[[ "$printer" =~ ^(tcp|usb|serial|file|cups)://[A-Za-z0-9_.:/?=\&,-]+$ ]] || die "--printer: not a printer address: $printer"
[[ "$server$public_url" =~ ^[A-Za-z0-9_.:/-]+$ ]] || die "--server and --public-url are plain addresses (no query)"
case "$paper" in 58|80) ;; *) die "--paper is 58 or 80" ;; esac
case "$text_mode" in gb18030|raster) ;; *) die "--text-mode is gb18030 or raster" ;; esac

require_root
ensure_screen_packages
ensure_packages libusb-1.0-0
# The kiosk process: its printer may be a USB (lp, plugdev) or serial (dialout) device.
ensure_user nextup /var/lib/nextup lp dialout plugdev
ensure_user "$SCREEN_USER" "/var/lib/$SCREEN_USER" video audio input render
ensure_nextup

put_file 644 /etc/systemd/system/nextup-kiosk.service <"$REPO/deploy/nextup-kiosk.service"
put_file 644 /etc/systemd/system/nextup-kiosk.service.d/setup.conf <<EOF_UNIT
# This kiosk's options (written by deploy/devices/setup-kiosk-pc.sh).
[Service]
ExecStart=
ExecStart=$VENV/bin/nextup kiosk --server $server --branch $branch --data-dir /var/lib/nextup-kiosk --printer $printer --paper $paper --text-mode $text_mode${public_url:+ --public-url $public_url}
EOF_UNIT
if [[ "$printer" =~ ^usb://([0-9A-Fa-f]{4}):([0-9A-Fa-f]{4}) ]]; then
  # python-escpos talks to a USB printer through libusb: let the kiosk's account (group lp) open it.
  put_file 644 /etc/udev/rules.d/70-nextup-printer.rules <<EOF_RULE
# The kiosk's ticket printer, for nextup kiosk (written by deploy/devices/setup-kiosk-pc.sh).
SUBSYSTEM=="usb", ATTRS{idVendor}=="${BASH_REMATCH[1],,}", ATTRS{idProduct}=="${BASH_REMATCH[2],,}", MODE="0660", GROUP="lp"
EOF_RULE
  [ "$FILES_ONLY" = 1 ] || ! changed /etc/udev || udevadm control --reload-rules
fi
install_screen kiosk "http://127.0.0.1:8080/"
disable_display_manager
start_services nextup-kiosk.service nextup-screen.service
finish
