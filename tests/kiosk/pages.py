"""A web server for the device tests: serves a few pages on loopback and counts how often each is loaded."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.servers import free_port


class PageServer:
    """Serves pages on loopback and counts the loads of each: ``pages`` maps a path to the page of
    each successive load (the last one repeats)."""

    def __init__(self, pages: dict[str, list[str]], port: int | None = None) -> None:
        self.pages = pages
        self.loads: dict[str, int] = {}
        self.port = port or free_port()
        served = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 5  # a connection Chromium opened ahead and never used ends

            def do_GET(self) -> None:
                versions = served.pages.get(self.path)
                if versions is None:
                    self.send_error(404)
                    return
                count = served.loads.get(self.path, 0)
                served.loads[self.path] = count + 1
                body = versions[min(count, len(versions) - 1)].encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.httpd.block_on_close = False
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> PageServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
