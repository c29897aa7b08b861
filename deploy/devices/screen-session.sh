#!/bin/sh
# The X session of nextup-screen.service (installed as /usr/local/lib/nextup/screen-session): a
# window manager, only so that the browser's window fills the screen (without one it does not),
# with no title bar and no cursor; then the watchdog, which runs the browser and looks after it.
# NEXTUP_SCREEN, NEXTUP_SCREEN_URL and NEXTUP_WATCHDOG_OPTIONS come from /etc/nextup/screen.env.
set -eu
matchbox-window-manager -use_titlebar no -use_cursor no &
# shellcheck disable=SC2086  # the options are a list of words
exec /opt/nextup/bin/nextup watchdog --screen "$NEXTUP_SCREEN" --url "$NEXTUP_SCREEN_URL" ${NEXTUP_WATCHDOG_OPTIONS:-}
