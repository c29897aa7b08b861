"""The data directory is private: 0700, and what NextUp keeps there 0600.

It holds the embedded Redis's append-only files (every account's password hash, every ticket),
the secrets file and the first admin's password. ``nextup serve`` runs with umask 077 so every file
it and its redis-server make is private; ``make_private`` also tightens what an older version left
readable by others.
"""

from __future__ import annotations

import os
from pathlib import Path

#: umask of ``nextup serve``, its embedded redis-server and ``nextup kiosk``: files 0600, folders 0700.
PRIVATE_UMASK = 0o077

#: What older versions left in the data directory with group/other bits, tightened at start. Not the
#: secrets file: one readable by others is refused (``server.keyring``), its keys may have leaked.
_KNOWN = ("appendonlydir", "nextup.aof", "redis.log", "redis.pid", "admin-password.txt", "tickets")


def _tighten(path: Path) -> None:
    """Drop the group and other bits of ``path`` if it belongs to this user (a symlink is left alone)."""
    info = path.lstat()
    if info.st_uid == os.getuid() and not path.is_symlink() and info.st_mode & 0o077:
        path.chmod(info.st_mode & 0o700)


def make_private(data_dir: Path) -> None:
    """Create ``data_dir`` 0700, or tighten it and the files NextUp keeps there (OSError if impossible)."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    _tighten(data_dir)
    for name in _KNOWN:
        entry = data_dir / name
        if not entry.exists():
            continue
        _tighten(entry)
        if name == "appendonlydir" and entry.is_dir():
            for part in entry.iterdir():
                _tighten(part)
