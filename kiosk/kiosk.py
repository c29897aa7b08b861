"""The kiosk itself: what the touch page shows, and a tap turned into a ticket that prints.

``Kiosk`` joins the server link, the printer and the pages (normally one browser tab). It pushes
its state to every page whenever the server's services, the link or the printer change, and turns
an ``issue`` from a page into: the server's ticket (or refusal), then a print in a worker thread.

Messages to the page (JSON, ``type``):

- ``state``: ``{online, last_close, pairing, branch: {id, name_zh, name_en} | null, services: [...],
  allow_priority, printer: {online, paper_out, paper_near_end, cover_open, error, available},
  idle_s, emergency}``; ``services`` as the server sends them (``server.kiosk_ws``), ``emergency`` the
  branch's emergency state from the same message (null, or ``{kind, text_zh, text_en, since}``: the
  page then shows why no ticket is issued). ``pairing`` is null once
  the kiosk has a token, else ``{state: asking|waiting|error, code, expires_in, detail}``: the page
  shows the code for an administrator instead of the service buttons.
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

Where the token comes from: ``--token`` (kept whatever the server says of it), else the credential
file in the data directory, else pairing (``kiosk.pairing``). A stored or paired token the server
refuses (close 4401: the account disabled, the token revoked or expired) is deleted and the kiosk
pairs again, showing a new code, rather than knocking with it for ever.
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
from kiosk.pairing import Credential, CredentialFile, PairingStatus, pair
from kiosk.printing import PRINT_FAILURES, KioskPrinter, failure_code, ticket_print
from kiosk.qr_image import qr_data_url
from printer.errors import PrinterError, TicketDataError
from printer.profile import PrinterProfile
from printer.ticket_printer import Printer
from server.background import BackgroundTask, Loop

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
        self.credentials = CredentialFile(config.data_dir) if config.data_dir is not None else None
        #: What the page shows while the kiosk has no token (None once it has one).
        self.pairing: PairingStatus | None = None
        self.link = ServerLink(
            config.socket_url, headers=self.auth_headers, health=self.health_message, on_change=self.push_state,
            on_unauthorized=self._token_refused, heartbeat_s=config.heartbeat_s,
        )  # fmt: skip
        self.pages: set[PageClient] = set()
        self._requests: OrderedDict[str, IssueRecord] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()
        self._connection = BackgroundTask("kiosk link", self._stay_connected)
        # Whatever a driver throws, the kiosk keeps issuing tickets and checking again.
        self._monitor = Loop(
            "kiosk printer status", self._check_printer, every_s=config.heartbeat_s, retry_on=(Exception,), logger=log
        )

    def auth_headers(self) -> dict[str, str]:
        """The kiosk socket's credential: a header, never the URL (which servers and proxies log)."""
        return {"Authorization": f"Bearer {self.token}"}

    # -- lifecycle -----------------------------------------------------------------

    async def start(self) -> None:
        self._connection.start()
        self._monitor.start()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.gather(self._connection.stop(), self._monitor.stop())
        await asyncio.to_thread(self.printer.close)

    # -- the token: given, stored, or paired -------------------------------------------

    async def _stay_connected(self) -> None:
        """Connect with the token there is; pair first when there is none, and again when it is refused."""
        if not self.token and self.credentials is not None:
            stored = await asyncio.to_thread(self.credentials.load, self.config.api_url, self.config.branch)
            if stored is not None:
                log.info("using the stored credential of kiosk account %s", stored.name)
                self.token = stored.token
        while True:
            if not self.token:
                await self._pair()
            await self.link.run()  # returns only once _token_refused gave the token up

    async def _pair(self) -> None:
        credential = await pair(self.config.api_url, self.config.branch, self._show_pairing)
        await self._save(credential)
        self.token = credential.token
        self.pairing = None
        print(f"Paired as kiosk account {credential.name}; connecting", flush=True)
        self.push_state()

    async def _save(self, credential: Credential) -> None:
        if self.credentials is None:
            return
        try:
            await asyncio.to_thread(self.credentials.save, credential)
        except OSError as exc:
            # The kiosk works with the token in memory; after a restart it pairs again.
            log.error("cannot store the credential in %s: %s", self.credentials.path, exc)

    def _show_pairing(self, status: PairingStatus) -> None:
        shown = self.pairing.code if self.pairing else None
        self.pairing = status
        if status.code and status.code != shown:
            # The code only: the claim secret and the token are never printed or logged.
            print(f"Pairing code {status.code}: an administrator enters it in /admin, Devices, "
                  f"Pair a device (配对设备)", flush=True)  # fmt: skip
        elif status.state == "error":
            log.warning("cannot get a pairing code: %s", status.detail)
        self.push_state()

    def _token_refused(self) -> bool:
        """The server refused the token (4401): a given one is kept; a stored one is dropped to pair again."""
        if not self.config.token.strip() and self.credentials is not None:
            log.warning("the server refused this kiosk's credential (%s); pairing again", self.link.last_close)
            try:
                self.credentials.delete()
            except OSError as exc:
                log.error("cannot delete the refused credential %s: %s", self.credentials.path, exc)
            self.token = ""
            self.pairing = PairingStatus("asking")
            self.push_state()
            return True
        return False

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
            "pairing": self.pairing.wire() if self.pairing else None,
            "branch": {k: branch.get(k) for k in ("id", "name_zh", "name_en")} if branch else None,
            "services": services.get("services", []),
            "allow_priority": bool(services.get("allow_priority")),
            "emergency": services.get("emergency"),
            "printer": printer.as_json(),
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

    async def _check_printer(self) -> None:
        before = self.printer.health
        await self.printer.check()
        if self.printer.health != before:
            self.push_state()
            await self.link.send_health()
