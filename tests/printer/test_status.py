"""DLE EOT status: query bytes and parsing of answer bytes, bit by bit."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from printer.errors import CoverOpen, PaperOut, PrinterOffline, PrinterProtocolError
from printer.status import (
    STATUS_QUERIES,
    PrinterStatus,
    encode_status,
    is_status_byte,
    parse_status,
    parse_status_reply,
    raise_for_status,
    status_query,
)

READY = 0x12  # fixed bits only: bit 1 and bit 4 set


def test_query_bytes() -> None:
    assert [status_query(n) for n in STATUS_QUERIES] == [b"\x10\x04\x01", b"\x10\x04\x02", b"\x10\x04\x04"]
    with pytest.raises(ValueError):
        status_query(5)


def test_all_clear() -> None:
    assert parse_status(READY, READY, READY) == PrinterStatus(
        online=True, cover_open=False, paper_near_end=False, paper_out=False, error=False
    )
    assert parse_status_reply(b"\x12\x12\x12").ready


@pytest.mark.parametrize(
    "printer,offline_cause,paper,expected",
    [
        (0x1A, READY, READY, PrinterStatus(online=False)),  # DLE EOT 1 bit 3: offline
        (0x16, READY, READY, PrinterStatus()),  # bit 2 is the drawer pin: ignored
        (0x1A, 0x16, READY, PrinterStatus(online=False, cover_open=True)),  # DLE EOT 2 bit 2
        (0x1A, 0x32, READY, PrinterStatus(online=False, paper_out=True)),  # bit 5: stopped by paper end
        (0x1A, 0x52, READY, PrinterStatus(online=False, error=True)),  # bit 6: error
        (READY, READY, 0x1E, PrinterStatus(paper_near_end=True)),  # DLE EOT 4 bits 2+3
        (READY, READY, 0x72, PrinterStatus(paper_out=True)),  # bits 5+6
        (0x1A, 0x32, 0x7E, PrinterStatus(online=False, paper_near_end=True, paper_out=True)),
        (READY, READY, 0x16, PrinterStatus()),  # only one bit of the pair: not near end
        (READY, READY, 0x32, PrinterStatus()),  # only one bit of the pair: not paper end
    ],
)
def test_status_bits(printer: int, offline_cause: int, paper: int, expected: PrinterStatus) -> None:
    assert parse_status(printer, offline_cause, paper) == expected


@pytest.mark.parametrize("bad", [0x00, 0xFF, 0x13, 0x92, 0x10, 0x02])
def test_bytes_without_the_fixed_bits_are_rejected(bad: int) -> None:
    assert not is_status_byte(bad)
    with pytest.raises(PrinterProtocolError, match=f"0x{bad:02X}"):
        parse_status(bad, READY, READY)


def test_reply_must_have_one_byte_per_query() -> None:
    with pytest.raises(PrinterProtocolError, match="expected 3"):
        parse_status_reply(b"\x12\x12")


@given(st.integers(0, 255))
def test_is_status_byte_matches_the_fixed_bit_pattern(value: int) -> None:
    fixed = (value >> 1) & 1 and (value >> 4) & 1 and not value & 1 and not value & 0x80
    assert is_status_byte(value) == bool(fixed)


@given(st.builds(PrinterStatus, st.booleans(), st.booleans(), st.booleans(), st.booleans(), st.booleans()))
def test_encoded_status_parses_back(status: PrinterStatus) -> None:
    parsed = parse_status(*(encode_status(status, n) for n in STATUS_QUERIES))
    # A printer goes offline whenever it cannot print, and its paper-end
    # sensor implies the near-end one, so compare those normalised.
    assert parsed.ready == status.ready
    assert parsed.online == status.ready
    assert (parsed.cover_open, parsed.paper_out, parsed.error) == (status.cover_open, status.paper_out, status.error)
    assert parsed.paper_near_end == (status.paper_near_end or status.paper_out)


def test_raise_for_status_picks_the_specific_error() -> None:
    raise_for_status(PrinterStatus(paper_near_end=True), "p")  # still prints
    with pytest.raises(PaperOut, match="out of paper"):
        raise_for_status(PrinterStatus(online=False, paper_out=True, cover_open=True), "p")
    with pytest.raises(CoverOpen):
        raise_for_status(PrinterStatus(online=False, cover_open=True), "p")
    with pytest.raises(PrinterOffline, match="error"):
        raise_for_status(PrinterStatus(error=True), "p")
    with pytest.raises(PrinterOffline, match="offline"):
        raise_for_status(PrinterStatus(online=False), "p")
