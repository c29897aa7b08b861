"""Real-time printer status: the DLE EOT n query and its one-byte answers.

Pure functions only, so the bit layout is unit-testable without a printer.
Bit meanings follow the ESC/POS reference for DLE EOT:

* n=1 printer status: bit 3 set = offline.
* n=2 offline cause: bit 2 cover open, bit 5 printing stopped by paper end,
  bit 6 error occurred.
* n=4 roll paper sensor: bits 2+3 paper near end, bits 5+6 paper end.

Every answer byte has bit 1 and bit 4 set and bits 0 and 7 clear, which is how
a reply is told apart from garbage (or from a device that is not a printer).
"""

from __future__ import annotations

from dataclasses import dataclass

from printer.errors import CoverOpen, PaperOut, PrinterOffline, PrinterProtocolError

DLE = 0x10
EOT = 0x04

PRINTER_STATUS = 1
OFFLINE_CAUSE = 2
PAPER_SENSOR = 4

#: The queries a status check sends, in order; one answer byte comes back for each.
STATUS_QUERIES: tuple[int, ...] = (PRINTER_STATUS, OFFLINE_CAUSE, PAPER_SENSOR)

_FIXED_MASK = 0b1001_0011
_FIXED_BITS = 0b0001_0010

_OFFLINE = 0x08
_COVER_OPEN = 0x04
_STOPPED_BY_PAPER_END = 0x20
_ERROR = 0x40
_NEAR_END = 0x0C
_PAPER_END = 0x60


@dataclass(frozen=True)
class PrinterStatus:
    """What the printer reports about itself."""

    online: bool = True
    cover_open: bool = False
    paper_near_end: bool = False
    paper_out: bool = False
    error: bool = False

    @property
    def ready(self) -> bool:
        """True when a ticket sent now would print."""
        return self.online and not (self.cover_open or self.paper_out or self.error)


def status_query(n: int) -> bytes:
    """The DLE EOT n command bytes."""
    if n not in (1, 2, 3, 4):
        raise ValueError(f"DLE EOT n must be 1..4, got {n}")
    return bytes((DLE, EOT, n))


def is_status_byte(value: int) -> bool:
    """Whether a byte has the fixed bits every DLE EOT answer carries."""
    return 0 <= value <= 0xFF and value & _FIXED_MASK == _FIXED_BITS


def _check(n: int, value: int) -> int:
    if not is_status_byte(value):
        raise PrinterProtocolError(
            f"answer 0x{value:02X} to DLE EOT {n} is not an ESC/POS status byte (is this port really a printer?)"
        )
    return value


def parse_status(printer_status: int, offline_cause: int, paper_sensor: int) -> PrinterStatus:
    """Combine the answers to DLE EOT 1, 2 and 4 into a PrinterStatus."""
    ps = _check(PRINTER_STATUS, printer_status)
    oc = _check(OFFLINE_CAUSE, offline_cause)
    paper = _check(PAPER_SENSOR, paper_sensor)
    return PrinterStatus(
        online=not ps & _OFFLINE,
        cover_open=bool(oc & _COVER_OPEN),
        # Both bits of a sensor pair are set together; requiring both rejects
        # half-set values some clones send while the sensor is undecided.
        paper_near_end=paper & _NEAR_END == _NEAR_END,
        paper_out=paper & _PAPER_END == _PAPER_END or bool(oc & _STOPPED_BY_PAPER_END),
        error=bool(oc & _ERROR),
    )


def parse_status_reply(reply: bytes) -> PrinterStatus:
    """Parse the three answer bytes to ``STATUS_QUERIES`` sent in order."""
    if len(reply) != len(STATUS_QUERIES):
        raise PrinterProtocolError(f"expected {len(STATUS_QUERIES)} status bytes, got {len(reply)}: {reply!r}")
    return parse_status(reply[0], reply[1], reply[2])


def encode_status(status: PrinterStatus, n: int) -> int:
    """The byte a printer in ``status`` answers to DLE EOT n (used by the emulator)."""
    value = _FIXED_BITS
    if n == PRINTER_STATUS:
        if not status.ready:
            value |= _OFFLINE
    elif n == OFFLINE_CAUSE:
        if status.cover_open:
            value |= _COVER_OPEN
        if status.paper_out:
            value |= _STOPPED_BY_PAPER_END
        if status.error:
            value |= _ERROR
    elif n == PAPER_SENSOR:
        if status.paper_near_end or status.paper_out:
            value |= _NEAR_END
        if status.paper_out:
            value |= _PAPER_END
    elif n != 3:
        raise ValueError(f"DLE EOT n must be 1..4, got {n}")
    return value


def raise_for_status(status: PrinterStatus, where: str) -> None:
    """Raise the PrinterError matching a not-ready status; do nothing when ready."""
    if status.paper_out:
        raise PaperOut(f"printer {where} is out of paper")
    if status.cover_open:
        raise CoverOpen(f"printer {where} has its cover open")
    if status.error:
        raise PrinterOffline(f"printer {where} reports an error (cutter jam or head overheat?)")
    if not status.online:
        raise PrinterOffline(f"printer {where} reports itself offline")
