"""``nextup kiosk``: run the kiosk process on the kiosk PC (see ``kiosk/README.md``)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # Only for the annotation: importing the kiosk (and python-escpos) here would slow every command.
    from kiosk.config import KioskConfig


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", required=True, help="the NextUp server, e.g. http://10.0.0.2:8000")
    parser.add_argument("--branch", required=True, help="branch id, e.g. main")
    parser.add_argument(
        "--token",
        default=os.environ.get("NEXTUP_KIOSK_TOKEN"),
        help="login token of the branch's kiosk account (default: $NEXTUP_KIOSK_TOKEN, which keeps it out of ps); "
        "without one the kiosk uses the credential in --data-dir, or pairs: it shows a code an admin enters in /admin",
    )
    parser.add_argument(
        "--data-dir", type=Path,
        help="where the kiosk keeps the credential pairing gave it (default: the per-user data folder, "
        "e.g. ~/.local/share/nextup-kiosk)",
    )  # fmt: skip
    parser.add_argument("--printer", required=True, help="tcp://HOST:9100, usb://VID:PID, preview://DIR ...")
    parser.add_argument("--host", default="127.0.0.1", help="address of the touch page (default: loopback only)")
    parser.add_argument("--port", type=int, default=8080, help="port of the touch page (default 8080)")
    parser.add_argument("--paper", type=int, choices=[58, 80], default=80, help="paper width in mm")
    parser.add_argument("--text-mode", choices=["gb18030", "raster"], default="gb18030",
                        help="gb18030 for printers with a Chinese font, raster to draw text as images")  # fmt: skip
    parser.add_argument("--font", help="CJK font file for raster mode (default: found on the system)")
    parser.add_argument("--public-url", help="server address customers' phones use, for the QR code (default --server)")
    parser.add_argument("--idle-seconds", type=float, default=20.0, help="seconds before the page returns to the start")
    parser.add_argument("--footer", help="text printed at the foot of each ticket")
    parser.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])


def config_from(args: argparse.Namespace) -> KioskConfig:
    """The settings the parsed options describe; KioskConfigError for one the kiosk cannot use."""
    from kiosk.config import DEFAULT_FOOTER, KioskConfig
    from kiosk.pairing import default_data_dir

    return KioskConfig(
        server_url=args.server,
        branch=args.branch,
        token=args.token or "",
        printer_url=args.printer,
        host=args.host,
        port=args.port,
        paper_width_mm=args.paper,
        text_mode=args.text_mode,
        font_path=args.font,
        public_url=args.public_url,
        idle_s=args.idle_seconds,
        footer=args.footer if args.footer is not None else DEFAULT_FOOTER,
        data_dir=args.data_dir or default_data_dir(),
    )


def run(args: argparse.Namespace) -> int:
    import logging

    import uvicorn

    from kiosk.app import create_app
    from kiosk.config import KioskConfigError
    from kiosk.kiosk import Kiosk
    from printer.errors import PrinterConfigError
    from server.log_redaction import uvicorn_log_config

    # What the kiosk writes (preview:// and file:// tickets) is readable by this user only.
    os.umask(0o077)
    # httpx logs every request at info: a line for each pairing poll, every 2 s.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        config = config_from(args)
        kiosk = Kiosk(config)
    except (KioskConfigError, PrinterConfigError) as exc:
        print(f"nextup kiosk: {exc}", flush=True)
        return 2
    print(f"NextUp kiosk for branch {config.branch}: open http://{config.host}:{config.port}/ full-screen", flush=True)
    uvicorn.run(
        create_app(kiosk),
        host=config.host,
        port=config.port,
        log_level=args.log_level,
        log_config=uvicorn_log_config(),
        access_log=False,
        ws_per_message_deflate=False,
    )
    return 0
