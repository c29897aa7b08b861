"""The backup file: what ``nextup backup`` writes and ``nextup restore`` reads. Bytes in, bytes out; no I/O.

A file is one line of text naming the format, then the body::

    NEXTUP-BACKUP 1 plain <sha256 of the body, hex>\n   gzip of JSON lines
    NEXTUP-BACKUP 1 encrypted\n                         a Fernet token (AES-128-CBC + HMAC-SHA256) of a plain file

The JSON lines of a plain body are a header, one line per Redis key, and a trailer::

    {"format": "nextup-backup", "version": 1, "created_at": "...", "scope": "installation"|"branch",
     "branches": ["main", ...]}
    {"key": "nextup:{main}:ticket:...", "type": "hash", "ttl_ms": -1, "value": {...}}
    ...
    {"end": true, "records": 1234}

Any byte of a plain file changed or cut off breaks its checksum (or the first line); any byte of an
encrypted one, its HMAC: each is refused with ``BackupFileError`` before anything is written. The
checksum finds damage, not a forger, who could write a new one: against that, ``--encrypt``.
Values keep every byte: Redis strings are decoded as UTF-8 with ``surrogateescape``, which JSON
writes as ``\\udcXX`` escapes and gives back.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from server.errors import NextUpError

FORMAT = "nextup-backup"
VERSION = 1
MAGIC = b"NEXTUP-BACKUP"
SCOPES = ("installation", "branch")
#: The Redis types a backup holds, and the JSON shape of each one's value.
TYPES = ("string", "hash", "list", "set", "zset", "stream")


class BackupFileError(NextUpError):
    """A backup file that cannot be read: not one, of another version, cut short, changed, or locked."""


@dataclass(frozen=True)
class Record:
    """One Redis key as saved: its name, type, remaining time to live (-1: none) and value.

    The value by type: string ``str``; hash ``{field: value}``; list ``[item, ...]`` in order; set
    ``[member, ...]`` sorted; zset ``[[member, score], ...]`` in order, scores as Redis writes them;
    stream ``{"entries": [[id, [field, value, ...]], ...], "last_id": id, "groups": [[name, last
    delivered id], ...]}``.
    """

    key: str
    type: str
    ttl_ms: int
    value: Any


@dataclass(frozen=True)
class Backup:
    scope: str
    branches: tuple[str, ...]
    created_at: str
    records: tuple[Record, ...] = field(repr=False)


def text(raw: bytes) -> str:
    """A Redis string as text that keeps every byte (see the module's notes)."""
    return raw.decode("utf-8", "surrogateescape")


def raw(value: str) -> bytes:
    return value.encode("utf-8", "surrogateescape")


# ---- Writing ---------------------------------------------------------------------------------


def _lines(backup: Backup) -> Iterator[bytes]:
    header = {"format": FORMAT, "version": VERSION, "created_at": backup.created_at, "scope": backup.scope,
              "branches": list(backup.branches)}  # fmt: skip
    yield _json_line(header)
    for record in backup.records:
        yield _json_line({"key": record.key, "type": record.type, "ttl_ms": record.ttl_ms, "value": record.value})


def _json_line(item: dict[str, Any]) -> bytes:
    return json.dumps(item, ensure_ascii=True, separators=(",", ":")).encode() + b"\n"


def encode(backup: Backup, key: bytes | None = None) -> bytes:
    """The file's bytes; encrypted with ``key`` (see ``backup_key``) when one is given."""
    lines = b"".join(_lines(backup)) + _json_line({"end": True, "records": len(backup.records)})
    body = gzip.compress(lines, mtime=0)
    plain = MAGIC + b" %d plain %s\n" % (VERSION, hashlib.sha256(body).hexdigest().encode()) + body
    if key is None:
        return plain
    return MAGIC + b" %d encrypted\n" % VERSION + Fernet(key).encrypt(plain)


# ---- Reading ---------------------------------------------------------------------------------


def is_encrypted(data: bytes) -> bool:
    return _first_line(data)[1] == "encrypted"


def _first_line(data: bytes) -> tuple[int, str, bytes]:
    """The version and kind of the file, and its body, checked against the checksum of a plain file."""
    head, newline, body = data.partition(b"\n")
    parts = head.split(b" ")
    if not newline or len(parts) not in (3, 4) or parts[0] != MAGIC:
        raise BackupFileError("this is not a NextUp backup file")
    try:
        version = int(parts[1])
    except ValueError:
        raise BackupFileError("this is not a NextUp backup file") from None
    if version != VERSION:
        raise BackupFileError(f"this backup file is of format version {version}; this NextUp reads version {VERSION}")
    kind = parts[2].decode("ascii", "replace")
    if (kind, len(parts)) not in (("plain", 4), ("encrypted", 3)):
        raise BackupFileError("this is not a NextUp backup file")
    if kind == "plain" and hashlib.sha256(body).hexdigest().encode() != parts[3]:
        raise BackupFileError("this backup file is cut short, or was changed after it was written "
                              "(its checksum does not match)")  # fmt: skip
    return version, kind, body


def decode(data: bytes, keys: Sequence[bytes] = ()) -> Backup:
    """The backup in ``data``, checked whole; an encrypted one needs one of ``keys`` (see ``backup_key``)."""
    _version, kind, body = _first_line(data)
    if kind == "encrypted":
        if not keys:
            raise BackupFileError("this backup file is encrypted: restore it with the installation's secrets file")
        for key in keys:
            try:
                return decode(Fernet(key).decrypt(body))
            except InvalidToken:
                continue
        raise BackupFileError(
            "this encrypted backup file was changed or cut short, or made with another installation's secrets file"
        )
    try:
        lines = gzip.decompress(body).split(b"\n")
    except (OSError, EOFError, zlib.error):
        raise BackupFileError("this backup file is cut short or damaged") from None
    return _parse(lines)


def _parse(lines: list[bytes]) -> Backup:
    if len(lines) < 3 or lines[-1] != b"":
        raise BackupFileError("this backup file is cut short or damaged")
    *content, trailer_line, _ = lines
    trailer = _load(trailer_line)
    if trailer.get("end") is not True or trailer.get("records") != len(content) - 1:
        raise BackupFileError("this backup file is cut short or damaged (its last line is missing)")
    header = _load(content[0])
    if header.get("format") != FORMAT or header.get("scope") not in SCOPES:
        raise BackupFileError("this is not a NextUp backup file")
    branches = header.get("branches")
    if not isinstance(branches, list) or not all(isinstance(b, str) for b in branches):
        raise BackupFileError("this backup file's header is damaged")
    return Backup(
        scope=str(header["scope"]),
        branches=tuple(branches),
        created_at=str(header.get("created_at", "")),
        records=tuple(_record(_load(line)) for line in content[1:]),
    )


def _load(line: bytes) -> dict[str, Any]:
    try:
        item = json.loads(line)
    except ValueError:
        raise BackupFileError("this backup file is damaged (a line is not JSON)") from None
    if not isinstance(item, dict):
        raise BackupFileError("this backup file is damaged (a line is not a record)")
    return item


def _record(item: dict[str, Any]) -> Record:
    key, kind, ttl = item.get("key"), item.get("type"), item.get("ttl_ms")
    if not isinstance(key, str) or kind not in TYPES or not isinstance(ttl, int) or "value" not in item:
        raise BackupFileError("this backup file is damaged (a record lacks its key, type or value)")
    value = item["value"]
    if not _well_formed(str(kind), value):
        raise BackupFileError(f"this backup file is damaged (the value of {key} is not a {kind})")
    return Record(key, str(kind), ttl, value)


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _pairs_of_strings(value: Any) -> bool:
    return isinstance(value, list) and all(_strings(v) and len(v) == 2 for v in value)


def _well_formed(kind: str, value: Any) -> bool:
    """Whether ``value`` has the shape ``Record`` gives its type, so that writing it cannot fail halfway."""
    if kind == "string":
        return isinstance(value, str)
    if kind == "hash":
        return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    if kind in ("list", "set"):
        return _strings(value)
    if kind == "zset":
        return _pairs_of_strings(value)
    return (
        isinstance(value, dict)
        and isinstance(value.get("last_id"), str)
        and _pairs_of_strings(value.get("groups"))
        and isinstance(value.get("entries"), list)
        and all(
            isinstance(e, list) and len(e) == 2 and isinstance(e[0], str) and _strings(e[1]) and len(e[1]) % 2 == 0
            for e in value["entries"]
        )
    )


# ---- Encryption key --------------------------------------------------------------------------


def backup_key(secret: bytes) -> bytes:
    """The Fernet key of backup files, derived from one of the installation's keys (never that key itself)."""
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"nextup backup file").derive(secret)
    return base64.urlsafe_b64encode(derived)


def backup_keys(secrets: Iterable[bytes]) -> list[bytes]:
    return [backup_key(secret) for secret in secrets]
