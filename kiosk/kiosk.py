"""The kiosk itself: what the touch page shows, and a tap turned into a ticket that prints.

``Kiosk`` joins the server link, the printer and the pages (normally one browser tab). It pushes
its state to every page whenever the server's services, the link or the printer change, and turns
an ``issue`` from a page into: the server's ticket (or refusal), then a print in a worker thread.

Messages to the page (JSON, ``type``):

- ``state``: ``{online, last_close, branch: {id, name_zh, name_en} | null, services: [...],
  allow_priority, printer: {online, paper_out, paper_near_end, cover_open, error, available},
  idle_s}``; ``services`` as the server sends them (``server.kiosk_ws``).
- ``issued``: ``{request_id, ticket: {number, service, name_zh, name_en, priority, ahead,
  estimated_wait_s, issued_at}}``: printing starts.
- ``printed``: ``{request_id}``.
- ``print_failed``: ``{request_id, error: {code, message, message_zh}, qr}``: ``qr`` is the
  ticket's QR code as a ``data:`` URL, to show large on the screen.
- ``refused``: ``{request_id, error: {code, message, message_zh}}``: the server's refusal, or
  ``out_of_service`` when the server cannot be reached (nothing was printed).

From the page: ``{"type": "issue", "request_id", "service", "priority"}``. A request id seen
before is never issued or printed again: its messages so far are sent again instead, so a double
tap or a page resending after a hiccup yields one ticket.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from kiosk.config import KioskConfig
from kiosk.link import LinkDown, ServerLink
from kiosk.printing import PRINT_FAILURES, KioskPrinter, failure_code, ticket_print
from kiosk.qr_image import qr_data_url
from printer.errors import PrinterError, TicketDataError
from printer.profile import PrinterProfile
from printer.ticket_printer import Printer

log = logging.getLogger("nextup.kiosk")

Json = dict[str, Any]

#: Request ids remembered for replaying their outcome (a few minutes of taps).
REMEMBERED_REQUESTS = 200
#: Messages one page may have waiting; a page this far behind is dropped (it reconnects).
PAGE_QUEUE = 256

OUT_OF_SERVICE = {
    "code": "out_of_service",
    "message": "The kiosk cannot reach the queue system: no ticket was issued. Please wait a moment or ask staff.",
    "message_zh": "取号机暂时无法连接排队系统，未出号。请稍候或咨询工作人员。",
}


@dataclass(eq=False)
class PageClient:
    """One open page: a bounded queue its socket's sender drains, so the kiosk never waits on a page."""

    queue: asyncio.Queue[str] = field(default_factory=lambda: asyncio.Queue(PAGE_QUEUE))
    dropped: bool = False

    def offer(self, text: str) -> None:
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            self.dropped = True


@dataclass
class IssueRecord:
    messages: list[str] = field(default_factory=list)


class Kiosk:
    def __init__(self, config: KioskConfig, printer: Printer | None = None) -> None:
        self.config = config
        profile = PrinterProfile(
            paper_width_mm=config.paper_width_mm, text_mode=config.text_mode, font_path=config.font_path
        )
        self.printer = KioskPrinter(printer or Printer(config.printer_url, profile))
        #: The kiosk account's token: from the configuration, a credential file or pairing; renewable.
        self.token = config.token
        self.link = ServerLink(
            config.socket_url, headers=self.auth_headers, health=self.health_message, on_change=self.push_state,
            heartbeat_s=config.heartbeat_s,
        )  # fmt: skip
        self.pages: set[PageClient] = set()
        self._requests: OrderedDict[str, IssueRecord] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()
        self._monitor: asyncio.Task[None] | None = None

    def auth_headers(self) -> dict[str, str]:
        """The kiosk socket's credential: a header, never the URL (which servers and proxies log)."""
        return {"Authorization": f"Bearer {self.token}"}

    # -- lifecycle -----------------------------------------------------------------

    async def start(self) -> None:
        self.link.start()
        self._monitor = asyncio.create_task(self._watch_printer(), name="kiosk printer status")

    async def stop(self) -> None:
        for task in [*self._tasks, *([self._monitor] if self._monitor else [])]:
            task.cancel()
        await asyncio.gather(*self._tasks, *([self._monitor] if self._monitor else []), return_exceptions=True)
        await self.link.stop()
        await asyncio.to_thread(self.printer.close)

    # -- what the page and the server are told ---------------------------------------

    def health_message(self) -> Json:
        return {"type": "health", "printer": self.printer.health.wire()}

    def state_message(self) -> Json:
        services = self.link.services or {}
        branch = services.get("branch")
        printer = self.printer.health
        return {
            "type": "state",
            "online": self.link.online,
            "last_close": self.link.last_close,
            "branch": {k: branch.get(k) for k in ("id", "name_zh", "name_en")} if branch else None,
            "services": services.get("services", []),
            "allow_priority": bool(services.get("allow_priority")),
            "printer": {**printer.wire(), "available": printer.available},
            "idle_s": self.config.idle_s,
        }

    def push_state(self) -> None:
        self._broadcast(self.state_message())

    def _broadcast(self, message: Json) -> str:
        text = json.dumps(message, ensure_ascii=False)
        for page in list(self.pages):
            page.offer(text)
        return text

    def add_page(self) -> PageClient:
        page = PageClient()
        page.offer(json.dumps(self.state_message(), ensure_ascii=False))
        self.pages.add(page)
        return page

    def remove_page(self, page: PageClient) -> None:
        self.pages.discard(page)

    # -- issuing ---------------------------------------------------------------------

    def submit(self, request_id: str, service: str, priority: bool) -> None:
        """Start issuing for a tap; a request id already seen only replays what it produced."""
        record = self._requests.get(request_id)
        if record is not None:
            for text in record.messages:
                for page in list(self.pages):
                    page.offer(text)
            return
        record = self._requests[request_id] = IssueRecord()
        while len(self._requests) > REMEMBERED_REQUESTS:
            self._requests.popitem(last=False)
        task = asyncio.create_task(self.issue(request_id, service, priority, record), name=f"issue {request_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def issue(self, request_id: str, service: str, priority: bool, record: IssueRecord) -> None:
        def tell(message: Json) -> None:
            record.messages.append(self._broadcast({**message, "request_id": request_id}))

        if not self.link.online:
            tell({"type": "refused", "error": OUT_OF_SERVICE})
            return
        try:
            reply = await self.link.issue(request_id, service, priority, self.config.issue_timeout_s)
        except LinkDown:
            tell({"type": "refused", "error": OUT_OF_SERVICE})
            return
        if reply.get("type") != "issued":
            tell({"type": "refused", "error": reply.get("error") or OUT_OF_SERVICE})
            return
        ticket: Json = reply["ticket"]
        tell({"type": "issued", "ticket": self._page_ticket(ticket)})
        qr_url = self.config.qr_url(str(ticket["id"]))
        error: PrinterError | None
        try:
            job = ticket_print(ticket, self.link.services or {}, qr_url, self.config.footer)
        except (PrinterError, KeyError, TypeError, ValueError) as exc:
            log.error("ticket %s cannot be laid out: %s", ticket.get("number"), exc)
            error = exc if isinstance(exc, PrinterError) else TicketDataError(str(exc))
        else:
            error = await self.printer.print_ticket(job)
        if error is None:
            tell({"type": "printed"})
            return
        log.warning("ticket %s issued but not printed: %s", ticket.get("number"), error)
        code = failure_code(error)
        message, message_zh = PRINT_FAILURES[code]
        tell({"type": "print_failed", "error": {"code": code, "message": message, "message_zh": message_zh},
              "qr": qr_data_url(qr_url)})  # fmt: skip
        self.push_state()
        await self.link.send_health()

    def _page_ticket(self, ticket: Json) -> Json:
        services = (self.link.services or {}).get("services", [])
        service: Json = next((s for s in services if s.get("id") == ticket.get("service")), {})
        fields = ("number", "service", "priority", "ahead", "estimated_wait_s", "issued_at")
        return {**{k: ticket.get(k) for k in fields}, "name_zh": service.get("name_zh", ticket.get("service")),
                "name_en": service.get("name_en", "")}  # fmt: skip

    # -- printer status ----------------------------------------------------------------

    async def _watch_printer(self) -> None:
        while True:
            before = self.printer.health
            try:
                await self.printer.check()
            except Exception:
                # Whatever a driver throws, the kiosk keeps issuing tickets and checking again.
                log.exception("checking the printer's status failed")
            if self.printer.health != before:
                self.push_state()
                await self.link.send_health()
            await asyncio.sleep(self.config.heartbeat_s)
