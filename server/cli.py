"""The ``nextup`` command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from kiosk import cli as kiosk_cli
from kiosk.watchdog_cli import add_watchdog_command
from server import keyring
from server.backup.cli import add_backup_commands
from server.config import Branch, demo_branch, load_config
from server.data_dir import PRIVATE_UMASK, make_private
from server.errors import ConfigError, EmbeddedRedisError
from server.log_redaction import protect_handlers
from server.metrics.report_cli import add_report_command
from server.migrate_cli import add_migrate_command, check_data_version
from server.migrations import DataVersionError
from server.secrets_cli import add_secrets_command
from server.simulate import add_simulate_command


def _branch(path: str | None) -> Branch:
    return load_config(Path(path)) if path else demo_branch()


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from server.app import create_app
    from server.embedded_redis import EmbeddedRedis
    from server.log_redaction import uvicorn_log_config
    from server.settings import load_settings

    # Whatever this process and its redis-server write (append-only files, logs, secrets, ticket
    # previews) is readable by this user only.
    os.umask(PRIVATE_UMASK)
    settings = load_settings(Path(args.data_dir) if args.data_dir else None)
    branch = _branch(args.config)
    try:
        make_private(settings.data_dir)
    except OSError as exc:
        raise ConfigError([f"cannot use {settings.data_dir} as the data directory: {exc}"]) from exc
    secrets_problem = keyring.check(settings)
    if secrets_problem:
        raise ConfigError([secrets_problem])
    embedded: EmbeddedRedis | None = None
    redis_url = settings.redis_url
    if redis_url is None:
        embedded = EmbeddedRedis(settings.data_dir)
        redis_url = embedded.start()
        print(f"Embedded Redis with its data in {settings.data_dir}", flush=True)
    try:
        asyncio.run(check_data_version(redis_url))
        app = create_app(settings, branch, redis_url)
        print(f"NextUp serving branch {branch.id} on http://{args.host}:{args.port}", flush=True)
        if args.config is None:
            from kiosk.demo import attach_demo_kiosk

            kiosk_path = attach_demo_kiosk(
                app, branch.id, host=args.host, port=args.port, data_dir=settings.data_dir,
                public_url=settings.public_url,
            )  # fmt: skip
            print(f"Demo kiosk: http://{args.host}:{args.port}{kiosk_path} (tickets as PNG in "
                  f"{settings.data_dir / 'tickets'})", flush=True)  # fmt: skip
        uvicorn.run(
            app,
            host=args.host,
            port=args.port,
            log_level=args.log_level,
            log_config=uvicorn_log_config(),
            access_log=False,
            ws_per_message_deflate=False,
            ws_max_size=settings.ws_max_message_bytes,
            # The app reads X-Forwarded-For itself, from NEXTUP_TRUSTED_PROXIES only (server.proxies).
            proxy_headers=False,
        )
    finally:
        if embedded:
            embedded.stop()
    return 0


def _line_of(problem: str) -> int:
    """Problems read ``file:line: ...``; those without a line come first."""
    parts = problem.split(":", 2)
    return int(parts[1]) if len(parts) > 2 and parts[1].isdigit() else 0


def check_config(args: argparse.Namespace) -> int:
    try:
        branch = load_config(Path(args.file))
    except ConfigError as exc:
        for problem in sorted(exc.problems, key=_line_of):
            print(problem, file=sys.stderr)
        print(f"{len(exc.problems)} problem(s) found", file=sys.stderr)
        return 1
    print(f"{args.file}: OK: branch {branch.id}, {len(branch.services)} services, {len(branch.counters)} counters")
    return _check_secrets_file()


def _check_secrets_file() -> int:
    from server.settings import load_settings

    settings = load_settings()
    problem = keyring.check(settings)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    path = keyring.secrets_path(settings)
    print(f"{path}: OK" if path.exists() else f"{path}: not made yet (nextup serve makes it on first start)")
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="nextup", description="NextUp queue management")
    commands = root.add_subparsers(dest="command", required=True)
    p = commands.add_parser("serve", help="run the server (with an embedded Redis unless NEXTUP_REDIS_URL is set)")
    p.add_argument("--config", help="branch TOML file (default: the built-in demo branch 'main')")
    p.add_argument("--host", default=os.environ.get("NEXTUP_HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(os.environ.get("NEXTUP_PORT", "8000")))
    p.add_argument("--data-dir", help="where the embedded Redis keeps its data (default: per-user data folder)")
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    p.set_defaults(run=serve)
    c = commands.add_parser("check-config", help="validate a branch TOML file and list every problem")
    c.add_argument("file")
    c.set_defaults(run=check_config)
    k = commands.add_parser("kiosk", help="run a ticket kiosk: the touch page on localhost and its printer")
    kiosk_cli.add_arguments(k)
    k.set_defaults(run=kiosk_cli.run)
    add_simulate_command(commands)
    add_report_command(commands)
    add_secrets_command(commands)
    add_backup_commands(commands)
    add_migrate_command(commands)
    add_watchdog_command(commands)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    protect_handlers()  # no token in any log line, whichever command runs
    try:
        code: int = args.run(args)
    except (ConfigError, EmbeddedRedisError, DataVersionError) as exc:
        print(f"nextup: {exc}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
