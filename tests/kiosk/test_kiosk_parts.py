"""The kiosk's pieces without I/O: settings, reconnect delays, the printed ticket, printer health."""

from __future__ import annotations

import itertools
from datetime import datetime

import pytest

from kiosk.app import parse_issue
from kiosk.config import KioskConfig, KioskConfigError
from kiosk.link import reconnect_delays
from kiosk.printing import failure_code, health_after, health_from_status, ticket_print
from printer.errors import PaperOut, PrinterOffline, PrinterTimeout, TicketDataError
from printer.status import PrinterStatus
from server.events import PrinterHealth

SERVICES = {
    "type": "services",
    "branch": {"id": "main", "name_zh": "演示网点", "name_en": "Demo branch", "timezone": "Asia/Shanghai",
               "counters": [{"id": "1", "services": ["A", "C"]}, {"id": "3", "services": ["B", "A"]},
                            {"id": "4", "services": ["C", "B"]}]},
    "services": [{"id": "A", "name_zh": "个人业务", "name_en": "Personal services"},
                 {"id": "B", "name_zh": "对公业务", "name_en": "Business services"}],
}  # fmt: skip
TICKET = {"id": "tkt_1-x", "branch": "main", "number": "B007", "service": "B", "priority": True,
          "issued_at": "2026-03-02T09:41:07.120+08:00", "ahead": 4, "estimated_wait_s": 600}  # fmt: skip


def config(**changes: object) -> KioskConfig:
    values: dict[str, object] = {"server_url": "http://10.0.0.2:8000/", "branch": "main", "token": "nxt1.a+b/c",
                                 "printer_url": "tcp://10.0.0.9:9100"}  # fmt: skip
    return KioskConfig(**{**values, **changes})  # type: ignore[arg-type]


def test_socket_and_qr_urls_follow_the_server_and_public_addresses() -> None:
    """The websocket is ws(s):// on the server, token-free; the QR code uses the public address when given."""
    assert config().socket_url == "ws://10.0.0.2:8000/ws/branches/main/kiosk"
    assert config(server_url="https://q.example/nextup").socket_url.startswith("wss://q.example/nextup/ws/")
    assert config().qr_url("tkt_1-x") == "http://10.0.0.2:8000/t/tkt_1-x"
    assert config(public_url="https://q.example").qr_url("tkt_1-x") == "https://q.example/t/tkt_1-x"


@pytest.mark.parametrize(
    "changes",
    [{"server_url": "10.0.0.2:8000"}, {"branch": ""}, {"public_url": "q.example"}, {"idle_s": 0}],
)
def test_bad_settings_are_refused_with_a_reason(changes: dict[str, object]) -> None:
    """A setting the kiosk cannot work with stops it at start, naming the option."""
    with pytest.raises(KioskConfigError):
        config(**changes)


def test_reconnect_delays_are_jittered_doubling_and_capped() -> None:
    """The first retry comes within half a second; later ones double, jittered, up to 5 s."""
    delays = list(itertools.islice(reconnect_delays(), 12))
    assert 0 <= delays[0] <= 0.5
    assert 0.5 <= delays[1] <= 1.0 and 1.0 <= delays[2] <= 2.0
    assert all(2.5 <= d <= 5.0 for d in delays[5:])
    assert len({round(d, 6) for d in delays[5:]}) > 1


def test_the_printed_ticket_carries_the_issued_ticket_and_branch_names() -> None:
    """Names, counters serving the service, wait, priority and the QR address come from the server."""
    printed = ticket_print(TICKET, SERVICES, "http://10.0.0.2:8000/t/tkt_1-x", "Thank you")
    assert printed.branch_name == "演示网点 Demo branch"
    assert (printed.number, printed.service_name_zh, printed.service_name_en) == (
        "B007",
        "对公业务",
        "Business services",
    )
    assert printed.counters == ["3", "4"]
    assert (printed.ahead, printed.estimated_wait_s, printed.priority) == (4, 600, True)
    assert printed.issued_at == datetime.fromisoformat("2026-03-02T09:41:07.120+08:00")
    assert printed.qr_url == "http://10.0.0.2:8000/t/tkt_1-x"


def test_printer_health_follows_status_and_errors() -> None:
    """Paper out, offline and unexpected errors all make the printer unavailable, each for its reason."""
    assert health_from_status(PrinterStatus()).available
    near_end = health_from_status(PrinterStatus(paper_near_end=True))
    assert near_end.available and near_end.paper_near_end
    paper_out = health_after(PaperOut("out of paper"), PrinterHealth())
    assert (paper_out.available, paper_out.paper_out, failure_code(PaperOut("x"))) == (False, True, "paper_out")
    offline = health_after(PrinterTimeout("no answer"), PrinterHealth())
    assert (offline.online, failure_code(PrinterTimeout("x")), failure_code(PrinterOffline("x"))) == (
        False, "printer_offline", "printer_offline")  # fmt: skip
    odd = health_after(TicketDataError("bad"), PrinterHealth())
    assert odd.online and not odd.available and odd.error == "bad"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"type":"issue","request_id":"r-1","service":"A","priority":true}', ("r-1", "A", True)),
        ('{"type":"issue","request_id":"r-1","service":"A"}', ("r-1", "A", False)),
        ('{"type":"issue","request_id":"r 1","service":"A"}', None),
        ('{"type":"issue","request_id":"r-1","service":"A","priority":"yes"}', None),
        ('{"type":"issue","request_id":"r-1","service":""}', None),
        ('{"type":"hello"}', None),
        ("[1]", None),
        ("not json", None),
    ],
)
def test_page_messages_are_checked_before_anything_is_issued(text: str, expected: object) -> None:
    """Only a well-formed issue message from the page reaches the kiosk."""
    assert parse_issue(text) == expected
