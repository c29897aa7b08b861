"""Reading ESC/POS byte streams back: split into commands, find QR payloads.

Used by the emulator (to answer DLE EOT queries and spot the cut that ends a
ticket without being fooled by the same bytes inside image data) and by tests
(to check what a printer would actually receive). It knows the lengths of the
commands this package and common drivers send; an unknown command is taken
as its two prefix bytes, which resynchronises on the next command.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

ESC = 0x1B
GS = 0x1D
FS = 0x1C
DLE = 0x10

_ESC_ONE_ARG = frozenset(b" !%-3EGJMRTUVadert{")
_GS_ONE_ARG = frozenset(b"!BHIabfhrw")
_FS_ONE_ARG = frozenset(b"!-CW")
_CONTROL_NAMES = {0x0A: "LF", 0x0D: "CR", 0x09: "HT", 0x0C: "FF"}
_GS_CUT_MODES_WITH_FEED = frozenset((65, 66, 97, 98, 103, 104))


@dataclass(frozen=True)
class Command:
    """One command or run of text from a stream.

    ``name`` is human-readable ("ESC @", "GS ( k", "text", "LF"); ``raw`` is the
    exact bytes, so joining every ``raw`` gives back the stream.
    """

    name: str
    raw: bytes


def _name(prefix: int, code: int) -> str:
    head = {ESC: "ESC", GS: "GS", FS: "FS", DLE: "DLE"}[prefix]
    if code == 0x04:
        return f"{head} EOT"
    return f"{head} {chr(code)}" if 0x20 < code < 0x7F else f"{head} 0x{code:02X}"


def _command_length(data: bytes, start: int) -> int | None:
    """Bytes taken by the command at ``start``, or None if it is cut off."""
    have = len(data) - start
    if have < 2:
        return None
    prefix, code = data[start], data[start + 1]

    def need(n: int) -> int | None:
        return n if have >= n else None

    if prefix == ESC:
        if code in _ESC_ONE_ARG:
            return need(3)
        if code == ord("p"):  # ESC p m t1 t2: drawer kick
            return need(5)
        if code in (ord("$"), ord("c")):  # ESC $ nL nH, ESC c x n
            return need(4)
        if code == ord("*"):  # ESC * m nL nH d1..dk
            if have < 5:
                return None
            columns = data[start + 3] | data[start + 4] << 8
            return need(5 + columns * (1 if data[start + 2] in (0, 1) else 3))
        return 2
    if prefix == GS:
        if code in _GS_ONE_ARG:
            return need(3)
        if code == ord("V"):
            if have < 3:
                return None
            return need(4 if data[start + 2] in _GS_CUT_MODES_WITH_FEED else 3)
        if code == ord("("):  # GS ( fn pL pH ...: every GS ( command shares this
            if have < 5:
                return None
            return need(5 + (data[start + 3] | data[start + 4] << 8))
        if code == ord("v"):  # GS v 0 m xL xH yL yH d1..dk
            if have < 8:
                return None
            width = data[start + 4] | data[start + 5] << 8
            height = data[start + 6] | data[start + 7] << 8
            return need(8 + width * height)
        if code == ord("L"):
            return need(4)
        return 2
    if prefix == FS:
        if code in _FS_ONE_ARG:
            return need(3)
        return 2
    # DLE: EOT/ENQ take one argument; DLE DC4 fn m t is the pulse command.
    if code in (0x04, 0x05):
        return need(3)
    if code == 0x14:
        return need(5)
    return 2


def _is_text(byte: int) -> bool:
    # GB18030 lead and trail bytes are all >= 0x30, so a text run never
    # swallows a command prefix.
    return byte >= 0x20 and byte != 0x7F


class StreamParser:
    """Incremental parser: feed bytes as they arrive, get complete commands back."""

    def __init__(self) -> None:
        self._pending = b""

    @property
    def pending(self) -> bytes:
        """Bytes of a command that has not fully arrived yet."""
        return self._pending

    def feed(self, chunk: bytes) -> list[Command]:
        data = self._pending + chunk
        commands: list[Command] = []
        i = 0
        while i < len(data):
            byte = data[i]
            if byte in (ESC, GS, FS, DLE):
                length = _command_length(data, i)
                if length is None:
                    break
                name = _name(byte, data[i + 1])
                if name == "GS v" and length >= 3:
                    name = "GS v 0"
                elif name == "GS (" and length >= 3:
                    name = f"GS ( {chr(data[i + 2])}"
                commands.append(Command(name, data[i : i + length]))
                i += length
            elif _is_text(byte):
                end = i
                while end < len(data) and _is_text(data[end]):
                    end += 1
                commands.append(Command("text", data[i:end]))
                i = end
            else:
                name = _CONTROL_NAMES.get(byte, f"0x{byte:02X}")
                commands.append(Command(name, data[i : i + 1]))
                i += 1
        self._pending = data[i:]
        return commands


def parse(data: bytes) -> list[Command]:
    """All commands in a complete stream; a cut-off trailing command is kept as 'truncated'."""
    parser = StreamParser()
    commands = parser.feed(data)
    if parser.pending:
        commands.append(Command("truncated", parser.pending))
    return commands


def is_cut(command: Command) -> bool:
    """Whether the command is GS V, the paper cut that ends a ticket."""
    return command.name == "GS V"


def qr_payloads(data: bytes) -> list[str]:
    """The data of every QR code stored with GS ( k (cn=1 '1', fn 'P', m '0')."""
    return [
        command.raw[8:].decode("utf-8")
        for command in parse(data)
        if command.name == "GS ( k" and command.raw[5:8] == b"1P0"
    ]


def iter_text(data: bytes, encoding: str = "gb18030") -> Iterator[str]:
    """Decoded text runs, for assertions about what would be printed."""
    for command in parse(data):
        if command.name == "text":
            yield command.raw.decode(encoding, errors="replace")


def dump(data: bytes, encoding: str = "gb18030") -> str:
    """A readable listing of a stream, one command per line.

    Raster image data is summarised by its size, not listed: it is what
    changes with the installed font, and nobody reviews it as hex anyway.
    """
    lines: list[str] = []
    for command in parse(data):
        if command.name == "text":
            detail = repr(command.raw.decode(encoding, errors="backslashreplace"))
        elif command.name == "GS v 0":
            width = command.raw[4] | command.raw[5] << 8
            height = command.raw[6] | command.raw[7] << 8
            detail = (
                f"{command.raw[:8].hex(' ')}  mode={command.raw[3]} width={width * 8} dots"
                f" height={height} rows, {len(command.raw) - 8} data bytes"
            )
        elif command.name == "GS ( k" and command.raw[5:8] == b"1P0":
            detail = f"{command.raw[:8].hex(' ')}  store QR data {command.raw[8:].decode('utf-8')!r}"
        else:
            detail = command.raw.hex(" ")
        lines.append(f"{command.name:<8} {detail}")
    return "\n".join(lines) + "\n"
