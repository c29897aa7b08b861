"""Reading ESC/POS streams back into commands (used by the emulator and tests)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from printer.escpos_stream import StreamParser, dump, is_cut, iter_text, parse, qr_payloads


def test_commands_are_split_with_their_arguments() -> None:
    data = (
        b"\x1b@\x1ba\x01\x1c&\x1d!\x11"
        + "叫号".encode("gb18030")
        + b"\n\x1dv0\x00\x01\x00\x02\x00\x10\x04"  # raster data that looks like DLE EOT
        + b"\x10\x04\x01"
        + b"\x1d(k\x05\x001P0ab"
        + b"\x1bd\x06\x1dVA\x03\x1dV\x00"
    )
    assert [(c.name, c.raw) for c in parse(data)] == [
        ("ESC @", b"\x1b@"),
        ("ESC a", b"\x1ba\x01"),
        ("FS &", b"\x1c&"),
        ("GS !", b"\x1d!\x11"),
        ("text", "叫号".encode("gb18030")),
        ("LF", b"\n"),
        ("GS v 0", b"\x1dv0\x00\x01\x00\x02\x00\x10\x04"),
        ("DLE EOT", b"\x10\x04\x01"),
        ("GS ( k", b"\x1d(k\x05\x001P0ab"),
        ("ESC d", b"\x1bd\x06"),
        ("GS V", b"\x1dVA\x03"),
        ("GS V", b"\x1dV\x00"),
    ]


def test_cut_bytes_inside_image_data_are_not_a_cut() -> None:
    image = b"\x1dv0\x00\x01\x00\x03\x00" + b"\x1dV\x00"
    commands = parse(image)
    assert len(commands) == 1 and not is_cut(commands[0])


def test_qr_payload_and_text_extraction() -> None:
    data = b"\x1d(k\x03\x001Q0" + b"\x1d(k\x0b\x001P0http://x" + "前面".encode("gb18030") + b"\n"
    assert qr_payloads(data) == ["http://x"]
    assert list(iter_text(data)) == ["前面"]


def test_truncated_stream_is_reported() -> None:
    assert parse(b"\x1b@\x1d(k\x10\x001P0abc")[-1].name == "truncated"


def test_dump_summarises_raster_data() -> None:
    listing = dump(b"\x1b@\x1dv0\x00\x02\x00\x01\x00\xff\x00")
    assert (
        listing
        == "ESC @    1b 40\nGS v 0   1d 76 30 00 02 00 01 00  mode=0 width=16 dots height=1 rows, 2 data bytes\n"
    )


@given(st.binary(max_size=400))
def test_parsing_is_lossless(data: bytes) -> None:
    assert b"".join(c.raw for c in parse(data)) == data


@given(st.binary(max_size=300), st.lists(st.integers(1, 50), max_size=20))
def test_incremental_feeding_matches_one_shot_parsing(data: bytes, cuts: list[int]) -> None:
    parser = StreamParser()
    commands = []
    position = 0
    for size in [*cuts, len(data)]:
        commands += parser.feed(data[position : position + size])
        position += size

    # Text runs may be split at chunk borders; everything else must match.
    def merged(names_raws: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
        out: list[tuple[str, bytes]] = []
        for name, raw in names_raws:
            if out and name == "text" and out[-1][0] == "text":
                out[-1] = ("text", out[-1][1] + raw)
            else:
                out.append((name, raw))
        return out

    whole = [(c.name, c.raw) for c in parse(data) if c.name != "truncated"]
    assert merged([(c.name, c.raw) for c in commands]) == merged(whole)
    assert parser.pending == data[len(b"".join(c.raw for c in commands)) :]
