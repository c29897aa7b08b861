"""The bare reference NextUp's API is measured against (``bench.bench_api`` runs both alternately).

What the stack itself costs, with nothing of NextUp's: uvicorn (same defaults as ``nextup serve``:
uvloop, httptools, no access log) and Starlette with two routes on NextUp's paths, a bearer token
checked by string compare, the JSON body parsed, one Lua script call per request on the same
Redis (redis-py asyncio with hiredis, one plain EVALSHA) and a JSON reply.

- issue: INCR, HSET, ZADD, XADD; replies the ticket (201).
- call-next: ZPOPMIN (service A, else B), HSET of the ticket and of the counter, XADD; replies the
  ticket, or 204 when nothing waits.

Run: ``python -m bench.reference_app --port 8001 --redis-url unix:///path/redis.sock --token T``.
Its keys all start with ``reference:``.
"""

from __future__ import annotations

import argparse
import contextlib
import secrets
import time
from collections.abc import AsyncIterator

import uvicorn
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

PREFIX = "reference:"

ISSUE = """
local prefix, id, service, priority, now_ms = KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local n = redis.call('INCR', prefix .. 'numbering:' .. service)
local number = service .. string.format('%03d', n)
redis.call('HSET', prefix .. 'ticket:' .. id, 'id', id, 'number', number, 'service', service,
  'status', 'waiting', 'priority', priority, 'issued_ms', now_ms)
redis.call('ZADD', prefix .. 'queue:' .. service, n, id)
redis.call('XADD', prefix .. 'events', 'MAXLEN', '~', 10000, '*', 'type', 'ticket_issued', 'ticket', id,
  'number', number)
return number
"""

CALL_NEXT = """
local prefix, counter, now_ms = KEYS[1], ARGV[1], ARGV[2]
local service = 'A'
local popped = redis.call('ZPOPMIN', prefix .. 'queue:A')
if #popped == 0 then
  service = 'B'
  popped = redis.call('ZPOPMIN', prefix .. 'queue:B')
end
if #popped == 0 then return '' end
local id = popped[1]
redis.call('HSET', prefix .. 'ticket:' .. id, 'status', 'called', 'counter', counter, 'called_ms', now_ms)
redis.call('HSET', prefix .. 'counter:' .. counter, 'current', id)
redis.call('XADD', prefix .. 'events', 'MAXLEN', '~', 10000, '*', 'type', 'ticket_called', 'ticket', id,
  'counter', counter)
return id .. ' ' .. service
"""


def create_reference_app(redis_url: str, token: str) -> Starlette:
    expected = f"Bearer {token}"
    redis: Redis | None = None
    shas: dict[str, str] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        nonlocal redis
        redis = Redis.from_url(redis_url, decode_responses=True)
        shas["issue"] = await redis.script_load(ISSUE)
        shas["call_next"] = await redis.script_load(CALL_NEXT)
        yield
        await redis.aclose()

    def authorized(request: Request) -> bool:
        return request.headers.get("authorization") == expected

    async def issue(request: Request) -> Response:
        if not authorized(request):
            return JSONResponse({"code": "unauthorized"}, 401)
        data = await request.json()
        service = str(data["service"])
        priority = "1" if data.get("priority") else "0"
        ticket_id = secrets.token_urlsafe(16)
        now_ms = int(time.time() * 1000)
        assert redis is not None
        number = await redis.evalsha(shas["issue"], 1, PREFIX, ticket_id, service, priority, now_ms)
        ticket = {
            "id": ticket_id, "number": number, "service": service, "status": "waiting",
            "priority": priority == "1", "issued_ms": now_ms,
        }  # fmt: skip
        return JSONResponse(ticket, 201)

    async def call_next(request: Request) -> Response:
        if not authorized(request):
            return JSONResponse({"code": "unauthorized"}, 401)
        counter = request.path_params["counter"]
        now_ms = int(time.time() * 1000)
        assert redis is not None
        called = await redis.evalsha(shas["call_next"], 1, PREFIX, counter, now_ms)
        if not called:
            return Response(status_code=204)
        ticket_id, service = called.split(" ")
        ticket = {"id": ticket_id, "service": service, "status": "called", "counter": counter, "called_ms": now_ms}
        return JSONResponse(ticket)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/api/branches/{branch}/tickets", issue, methods=["POST"]),
            Route("/api/branches/{branch}/counters/{counter}/call-next", call_next, methods=["POST"]),
            Route("/healthz", health, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--token", required=True)
    args = parser.parse_args()
    app = create_reference_app(args.redis_url, args.token)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
