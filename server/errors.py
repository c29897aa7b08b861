"""NextUp's exceptions. The tree is written out in ``server/__init__.py``."""

from __future__ import annotations

import asyncio
from typing import Any


class NextUpError(Exception):
    """Root of every error NextUp raises on purpose."""


class ConfigError(NextUpError):
    """The branch configuration is invalid; ``problems`` lists each error with its line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class EmbeddedRedisError(NextUpError):
    """The embedded redis-server could not be started or reached."""


class ApiError(NextUpError):
    """A request refused with an HTTP status, a stable ``code`` and a human ``message``."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, **self.extra}}


def malformed(message: str) -> ApiError:
    return ApiError(400, "malformed", message)


def invalid_field(field: str, message: str) -> ApiError:
    return ApiError(422, "invalid_field", message, field=field)


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} not found")


def unauthorized(message: str = "Log in first: send Authorization: Bearer <token>") -> ApiError:
    return ApiError(401, "unauthorized", message)


def forbidden(message: str) -> ApiError:
    return ApiError(403, "forbidden", message)


def end_if_cancelled(exc: BaseException, stopping: bool = False) -> None:
    """Raise CancelledError if the loop is stopping or the current task is being cancelled.

    redis-py can turn the cancellation of a read in progress into a TimeoutError, a RedisError (and
    on Python 3.11 a timeout racing the cancellation can even reset ``Task.cancelling()``): a
    background loop that retries on RedisError calls this first, passing the flag its ``stop``
    sets before cancelling, or a cancelled task would go on retrying and whoever awaits its end
    would wait forever. ``server.background.Loop`` does this for every loop built on it.
    """
    task = asyncio.current_task()
    if stopping or (task is not None and task.cancelling()):
        raise asyncio.CancelledError from exc
