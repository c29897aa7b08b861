# shellcheck shell=bash
# What setup-kiosk-pc.sh and setup-display-pc.sh share: idempotent steps (a step whose result is
# already there changes nothing), the screen's user and session, the browser's policy.
# Sourced, not run. Every step honours ROOT: with --root DIR, files go under DIR and nothing else
# is done (no packages, users or services), which is how tests/test_device_setup.py runs them.

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
ROOT=""
FILES_ONLY=0
UPGRADE=0
SOURCE="$REPO"
WATCHDOG_OPTIONS=""
CHANGED=()

#: The user the screen's X session and browser run as (the kiosk agent runs as "nextup").
# shellcheck disable=SC2034  # used by the scripts that source this file
SCREEN_USER=nextup-screen
#: Where NextUp is installed on a device PC (the units name it).
VENV=/opt/nextup

say() { printf 'nextup setup: %s\n' "$*"; }
die() {
  printf 'nextup setup: %s\n' "$*" >&2
  exit 2
}

# Options every script takes; "shift_by" says how many words the caller consumes.
# shellcheck disable=SC2034  # shift_by is the caller's
common_option() {
  case "$1" in
    --root)
      [ -n "${2:-}" ] || die "--root needs a directory"
      ROOT=$(cd "$2" && pwd) || die "--root $2: no such directory"
      FILES_ONLY=1
      shift_by=2 ;;
    --files-only) FILES_ONLY=1; shift_by=1 ;;
    --upgrade) UPGRADE=1; shift_by=1 ;;
    --browser-flag)
      [[ "${2:-}" =~ ^--[A-Za-z0-9-]+(=[A-Za-z0-9.,_:-]+)?$ ]] || die "--browser-flag takes one Chromium flag, e.g. --force-device-scale-factor=2"
      WATCHDOG_OPTIONS="${WATCHDOG_OPTIONS:+$WATCHDOG_OPTIONS }--browser-flag=$2"
      shift_by=2 ;;
    --source)
      [ -n "${2:-}" ] || die "--source needs the NextUp folder or wheel"
      SOURCE=$2
      shift_by=2 ;;
    *) return 1 ;;
  esac
}

common_usage() {
  cat <<'EOF'
  --browser-flag FLAG  a flag for Chromium, e.g. --force-device-scale-factor=2 on a 4K TV (repeatable)
  --source PATH   the NextUp folder or wheel to install (default: this checkout)
  --upgrade       install NextUp again from --source even if it is installed
  --files-only    write the configuration files, and nothing else (no packages, users, services)
  --root DIR      write the files under DIR instead of / (implies --files-only)
EOF
}

check_url() {
  case "$1" in
    http://?*|https://?*) ;;
    *) die "$2 must be an http:// or https:// address, not '$1'" ;;
  esac
}

require_root() {
  [ "$FILES_ONLY" = 1 ] || [ "$(id -u)" = 0 ] || die "run it as root (sudo $0 ...)"
}

# put_file MODE PATH: write standard input to ROOT/PATH unless it already holds exactly that.
put_file() {
  local mode=$1 path=$2 target=$ROOT$2 tmp
  tmp=$(mktemp)
  cat >"$tmp"
  if [ -f "$target" ] && cmp -s "$tmp" "$target" && [ "$(stat -c %a "$target")" = "$mode" ]; then
    rm -f "$tmp"
    return 0
  fi
  mkdir -p "$(dirname "$target")"
  install -m "$mode" "$tmp" "$target"
  rm -f "$tmp"
  CHANGED+=("$path")
  say "wrote $path"
}

# Whether a file of this run was changed, by path prefix.
changed() {
  local path
  for path in "${CHANGED[@]}"; do
    case "$path" in "$1"*) return 0 ;; esac
  done
  return 1
}

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
available() { apt-cache policy "$1" 2>/dev/null | grep -Eq '^ *Candidate: +[^( ]'; }

# The first of the named packages apt can install.
first_available() {
  local name
  for name in "$@"; do
    if installed "$name" || available "$name"; then
      printf '%s\n' "$name"
      return 0
    fi
  done
  return 1
}

ensure_packages() {
  [ "$FILES_ONLY" = 0 ] || return 0
  local missing=() name
  for name in "$@"; do installed "$name" || missing+=("$name"); done
  [ ${#missing[@]} -gt 0 ] || return 0
  say "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  CHANGED+=("packages")
}

raspberry_pi_os() { [ -f /etc/rpi-issue ] || grep -qs '^ID=raspbian' /etc/os-release; }

# Debian's chromium; on Raspberry Pi OS its own build (chromium-browser) where it has one.
chromium_package() {
  if raspberry_pi_os; then
    first_available chromium-browser chromium
  else
    first_available chromium
  fi
}

# What every screen needs: an X server, xinit and a window manager (no desktop), the browser, Chinese fonts.
ensure_screen_packages() {
  [ "$FILES_ONLY" = 0 ] || return 0
  local browser
  browser=$(chromium_package) || die "no chromium package in this system's apt sources"
  ensure_packages xserver-xorg xinit matchbox-window-manager "$browser" fonts-noto-cjk python3 python3-venv
}

ensure_user() {
  local user=$1 home=$2
  shift 2
  [ "$FILES_ONLY" = 0 ] || return 0
  if ! id "$user" >/dev/null 2>&1; then
    useradd --system --home-dir "$home" --create-home --shell /usr/sbin/nologin "$user"
    CHANGED+=("user $user")
    say "made the user $user"
  fi
  local group
  for group in "$@"; do
    if getent group "$group" >/dev/null && ! id -nG "$user" | tr ' ' '\n' | grep -qx "$group"; then
      usermod -a -G "$group" "$user"
      CHANGED+=("user $user")
    fi
  done
}

# NextUp itself, in its own virtual environment (nextup kiosk, nextup watchdog).
ensure_nextup() {
  [ "$FILES_ONLY" = 0 ] || return 0
  if [ -x "$VENV/bin/nextup" ] && [ "$UPGRADE" = 0 ]; then
    return 0
  fi
  [ -e "$SOURCE" ] || die "--source $SOURCE: no such folder or wheel"
  say "installing NextUp from $SOURCE into $VENV"
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade "$SOURCE"
  CHANGED+=("$VENV")
}

# The screen: its settings, its session (an X server with no cursor, screen saver or DPMS whose one
# client is the watchdog), and the browser's policy. $1: kiosk or display, $2: the page.
install_screen() {
  local screen=$1 url=$2
  put_file 644 /etc/nextup/screen.env <<EOF
# The screen of this $screen PC (nextup-screen.service; written by deploy/devices/setup-$screen-pc.sh).
NEXTUP_SCREEN=$screen
NEXTUP_SCREEN_URL=$url
NEXTUP_WATCHDOG_OPTIONS="$WATCHDOG_OPTIONS"
EOF
  put_file 755 /usr/local/lib/nextup/screen-session <"$HERE/screen-session.sh"
  put_file 644 /etc/systemd/system/nextup-screen.service <"$HERE/nextup-screen.service"
  put_file 644 /etc/chromium/policies/managed/nextup.json <"$HERE/chromium-policy.json"
}

# A desktop's display manager would take the screen from nextup-screen.service: this PC is a device.
disable_display_manager() {
  [ "$FILES_ONLY" = 0 ] || return 0
  local link=/etc/systemd/system/display-manager.service manager
  [ -L "$link" ] || return 0
  manager=$(basename "$(readlink -f "$link")")
  say "disabling $manager: this PC now shows NextUp only (it takes effect at the next boot)"
  systemctl disable "$manager"
  CHANGED+=("$manager")
}

# Enable the services, and restart those whose files changed (start the others if stopped).
start_services() {
  [ "$FILES_ONLY" = 0 ] || return 0
  changed /etc/systemd/system && systemctl daemon-reload
  local unit
  for unit in "$@"; do
    systemctl enable --quiet "$unit"
    if [ ${#CHANGED[@]} -gt 0 ]; then
      systemctl restart "$unit"
    else
      systemctl start "$unit"
    fi
  done
}

finish() {
  if [ ${#CHANGED[@]} -eq 0 ]; then
    say "nothing to change: this PC is set up already"
  else
    say "done (${#CHANGED[@]} change(s)); see docs/devices.md"
  fi
}
