"""Customer feedback from the phone page: ratings of served tickets and complaints, and the managers' API.

A rating (1-5, optional comment) is accepted once per served ticket while its page works; storing
it and appending its ``ticket_rated`` event to the branch stream is one script
(``lua/rate_ticket.lua``), so the metrics count exactly the ratings stored. The event's data:
``{"ticket": {...}, "counter": "3" | null, "staff": "alice" | null, "service": "A", "rating": 1-5}``
plus the usual ``type, branch, at, ts, actor``. The comment stays out of the stream (which public
screens follow) and in the rating's hash.

A complaint (text, optional phone number) may be filed from any ticket's page while it works, at
most ``COMPLAINTS_PER_TICKET`` per ticket. The phone number is stored encrypted
(Fernet) and erased after ``PhoneSettings.complaint_phone_days``. Managers and admins list
complaints with their state (open, answered, closed), age and whether the answer is overdue against
the branch's target, and move them on with an answer; each change is in the audit log.

Routes:

- ``POST /api/branches/{b}/tickets/{id}/rating`` ``{"rating": 1-5, "comment"?}`` -> 201
  ``{"rating", "comment", "at"}``; 409 ``already_rated`` (state ``rated``), 409 ``invalid_state``
  (the ticket is not served; body names ``state``), 410 ``gone``, 404, 422.
- ``POST /api/branches/{b}/tickets/{id}/complaints`` ``{"text", "phone"?}`` -> 201
  ``{"id", "state", "filed_at", "answer_due_at"}``; 409 ``too_many_complaints``, 410, 404, 422.
- ``GET /api/branches/{b}/complaints?state=open|answered|closed[,...]&count=N`` (manager, admin) ->
  ``{"complaints": [...newest first], "answer_target_h"}``.
- ``PATCH /api/branches/{b}/complaints/{id}`` ``{"state"?, "answer"?}`` (manager, admin) -> the
  complaint; 409 ``invalid_state`` when its state does not allow the change, 422 ``invalid_field``.
- ``GET /api/branches/{b}/ratings?count=N`` (manager, admin) -> ``{"ratings": [...newest first]}``.
"""

from __future__ import annotations

import logging
import re
import secrets
from datetime import UTC, datetime
from typing import cast

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server import keys
from server.api import actor_of, branch_store, identify, ticket_id_of
from server.auth import Role
from server.context import context
from server.errors import ApiError, invalid_field, not_found
from server.follow_up import answer_due_ms
from server.http import JSONResponse, read_body
from server.phone import phone_settings
from server.phone_cipher import PhoneCipher
from server.settings import PhoneSettings
from server.shapes.feedback import (
    COMPLAINTS_PER_TICKET,
    Complaint,
    ComplaintChange,
    ComplaintFiled,
    ComplaintRequest,
    Complaints,
    ComplaintState,
    Rating,
    RatingEntry,
    RatingRequest,
    Ratings,
)
from server.store import Actor, Json, QueueStore

log = logging.getLogger("nextup.feedback")

#: Most complaints or ratings one listing returns.
LIST_MAX = 1000

_COMPLAINT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

#: Complaint transitions: target state -> states it may be reached from. Answering an answered
#: complaint amends the answer; a closed or answered complaint can be reopened.
COMPLAINT_TRANSITIONS: dict[ComplaintState, frozenset[ComplaintState]] = {
    ComplaintState.ANSWERED: frozenset({ComplaintState.OPEN, ComplaintState.ANSWERED}),
    ComplaintState.CLOSED: frozenset({ComplaintState.OPEN, ComplaintState.ANSWERED}),
    ComplaintState.OPEN: frozenset({ComplaintState.ANSWERED, ComplaintState.CLOSED}),
}


# ---- Query and complaints as managers see them (no I/O) ----------------------------------------


def states_field(raw: str) -> frozenset[str]:
    """``?state=``: one state or a comma list of them (``open,answered``); empty keeps every state."""
    wanted = frozenset(raw.split(",")) if raw else frozenset()
    if not wanted <= {s.value for s in ComplaintState}:
        raise invalid_field("state", "'state' must be open, answered or closed, or a comma list of them")
    return wanted


def complaint_summary(record: dict[str, str], now_ms: int, settings: PhoneSettings, cipher: PhoneCipher,
                      store: QueueStore) -> Complaint:  # fmt: skip
    """A stored complaint as managers see it: its state, age, and whether its answer is overdue."""
    filed_ms = int(record.get("filed_ms") or 0)
    answered_ms = int(record["answered_ms"]) if record.get("answered_ms") else None
    due_ms = answer_due_ms(filed_ms, settings)
    state = record.get("state", ComplaintState.OPEN.value)
    waited_ms = (answered_ms if answered_ms is not None and state != ComplaintState.OPEN else now_ms) - filed_ms
    unanswered = state == ComplaintState.OPEN
    return Complaint(
        id=record.get("id", ""),
        number=record.get("number", ""),
        service=record.get("service", ""),
        counter=record.get("counter") or None,
        staff=record.get("staff") or None,
        ticket_status=record.get("ticket_status", ""),
        business_day=record.get("day", ""),
        text=record.get("text", ""),
        phone=cipher.decrypt(record.get("phone", "")),
        phone_erased=bool(record.get("phone_purged_at")),
        state=ComplaintState(state),
        filed_at=record.get("filed_at", ""),
        age_s=max(0, (now_ms - filed_ms) // 1000),
        waited_s=max(0, waited_ms // 1000),
        answer_due_at=_iso(store, due_ms),
        overdue=unanswered and now_ms > due_ms,
        answered_late=answered_ms is not None and answered_ms > due_ms,
        answer=record.get("answer") or None,
        answered_at=record.get("answered_at") or None,
        answered_by=record.get("answered_by") or None,
        closed_at=record.get("closed_at") or None,
    )


def _iso(store: QueueStore, ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).astimezone(store.branch.zone).isoformat(timespec="seconds")


def _now_ms(store: QueueStore) -> int:
    return int(store.clock.now().timestamp() * 1000)


def _holder(request: Request) -> Actor:
    return Actor("holder", "", request.client.host if request.client else "")


# ---- The customer's side -----------------------------------------------------------------------


async def rate_ticket(request: Request) -> Response:
    ctx = context(request)
    store = branch_store(request, ctx)
    ticket_id = ticket_id_of(request)
    settings = phone_settings(request.app)
    body = await read_body(request, ctx.settings.max_body_bytes, RatingRequest)
    result, _ = await store.run_script(
        "rate_ticket", _holder(request), ticket_id, int(body.rating), body.comment or "",
        settings.finished_page_ttl_s * 1000,
    )  # fmt: skip
    if "error" in result:
        raise _refusal(result, "rate")
    return JSONResponse(Rating(rating=int(result["rating"]), comment=result["comment"], at=result["at"]), 201)


async def file_complaint(request: Request) -> Response:
    ctx = context(request)
    store = branch_store(request, ctx)
    ticket_id = ticket_id_of(request)
    settings = phone_settings(request.app)
    body = await read_body(request, ctx.settings.max_body_bytes, ComplaintRequest)
    text, phone = body.text, body.phone or ""
    sealed = context(request).phone_cipher.encrypt(phone) if phone else ""
    for _ in range(3):
        result, _ = await store.run_script(
            "file_complaint",
            _holder(request),
            ticket_id,
            secrets.token_urlsafe(12),
            text,
            sealed,
            COMPLAINTS_PER_TICKET,
            settings.finished_page_ttl_s * 1000,
        )
        if result.get("error") != "id_collision":
            break
    if "error" in result:
        raise _refusal(result, "complain")
    record = result["complaint"]
    filed_ms = int(record["filed_ms"])
    due = _iso(store, answer_due_ms(filed_ms, settings))
    return JSONResponse(
        ComplaintFiled(id=record["id"], state="open", filed_at=record["filed_at"], answer_due_at=due), 201
    )


def _refusal(result: Json, action: str) -> ApiError:
    code = result.pop("error")
    if code == "not_found":
        return not_found("Ticket" if action != "update" else "Complaint")
    if code == "gone":
        return ApiError(410, "gone", "The page of this ticket has expired")
    if code == "invalid_state" and action == "rate":
        return ApiError(409, code, f"Only a served ticket can be rated; ticket {result.get('number')} is "
                                   f"{result['state']}", **result)  # fmt: skip
    if code == "invalid_state":
        return ApiError(409, code, f"The complaint is {result['state']}", **result)
    if code == "already_rated":
        return ApiError(409, code, "This ticket has already been rated", **result)
    if code == "too_many_complaints":
        return ApiError(409, code, f"A ticket may file at most {result['limit']} complaints", **result)
    if code == "answer_required":
        return invalid_field("answer", "An answered complaint needs an 'answer'")
    return ApiError(409, code, code, **result)


# ---- The managers' side ------------------------------------------------------------------------


async def _manager(request: Request) -> Actor:
    ctx = context(request)
    identity = await identify(request, ctx)
    identity.require_branch(branch_store(request, ctx).branch.id)
    identity.require_role(Role.MANAGER, Role.ADMIN)
    return actor_of(identity, request)


def _count(request: Request) -> int:
    raw = request.query_params.get("count", "100")
    if not raw.isdigit() or not 1 <= int(raw) <= LIST_MAX:
        raise invalid_field("count", f"'count' must be a whole number from 1 to {LIST_MAX}")
    return int(raw)


async def list_complaints(request: Request) -> Response:
    """Complaints, newest first; ``?state=`` keeps one state or a comma list of them, ``?count=`` (default 100)."""
    await _manager(request)
    ctx = context(request)
    store = ctx.store
    settings = phone_settings(request.app)
    wanted = states_field(request.query_params.get("state", ""))
    count = _count(request)
    # Listing never shows a number past its retention, even if the hourly erasure has not run yet.
    await purge_phones(store, settings)
    branch = store.branch.id
    ids = cast(list[str], await store.redis.zrevrange(keys.complaints(branch), 0, -1))
    cipher = context(request).phone_cipher
    now = _now_ms(store)
    found: list[Complaint] = []
    # Read in pages: a state filter may skip many; the branch's list stays small (days of complaints).
    for start in range(0, len(ids), 200):
        async with store.redis.pipeline(transaction=False) as pipe:
            for cid in ids[start : start + 200]:
                pipe.hgetall(keys.complaint(branch, cid))
            records = cast(list[dict[str, str]], await pipe.execute())
        for record in records:
            if record and (not wanted or record.get("state") in wanted):
                found.append(complaint_summary(record, now, settings, cipher, store))
        if len(found) >= count:
            break
    return JSONResponse(Complaints(complaints=found[:count], answer_target_h=settings.complaint_answer_target_h))


async def update_complaint(request: Request) -> Response:
    """``{"state"?, "answer"?}``: an answer alone answers it; a state alone moves it."""
    actor = await _manager(request)
    ctx = context(request)
    store = ctx.store
    complaint_id: str = request.path_params["complaint"]
    if not _COMPLAINT_ID.match(complaint_id):
        raise not_found("Complaint")
    body = await read_body(request, ctx.settings.max_body_bytes, ComplaintChange)
    answer = body.answer or ""
    if isinstance(body.state, ComplaintState):
        state = body.state
    elif answer:
        state = ComplaintState.ANSWERED
    else:
        raise invalid_field("state", "'state' must be open, answered or closed (or send an 'answer')")
    allowed = sorted(s.value for s in COMPLAINT_TRANSITIONS[state])
    result, _ = await store.run_script("update_complaint", actor, complaint_id, state.value, answer, *allowed)
    if "error" in result:
        raise _refusal(result, "update")
    settings = phone_settings(request.app)
    cipher = context(request).phone_cipher
    return JSONResponse(complaint_summary(result["complaint"], _now_ms(store), settings, cipher, store))


async def list_ratings(request: Request) -> Response:
    """Ratings with their comments, newest first; ``?count=`` (default 100)."""
    await _manager(request)
    store = context(request).store
    branch = store.branch.id
    ids = cast(list[str], await store.redis.zrevrange(keys.ratings(branch), 0, _count(request) - 1))
    async with store.redis.pipeline(transaction=False) as pipe:
        for ticket_id in ids:
            pipe.hgetall(keys.rating(branch, ticket_id))
        records = cast(list[dict[str, str]], await pipe.execute())
    ratings = [
        RatingEntry(number=r.get("number", ""), service=r.get("service", ""), counter=r.get("counter") or None,
                    staff=r.get("staff") or None, rating=int(r["rating"]), comment=r.get("comment") or None,
                    at=r.get("at", ""), business_day=r.get("day", ""))
        for r in records if r.get("rating")
    ]  # fmt: skip
    return JSONResponse(Ratings(ratings))


# ---- Erasing old phone numbers -----------------------------------------------------------------


async def purge_phones(store: QueueStore, settings: PhoneSettings) -> int:
    """Erase the phone numbers of complaints older than the retention; how many were erased."""
    cutoff = _now_ms(store) - int(settings.complaint_phone_days * 86_400_000)
    result, _ = await store.run_script("purge_complaint_phones", Actor("retention"), cutoff)
    return int(result.get("purged", 0))


ROUTES = [
    Route("/api/branches/{branch}/tickets/{ticket}/rating", rate_ticket, methods=["POST"]),
    Route("/api/branches/{branch}/tickets/{ticket}/complaints", file_complaint, methods=["POST"]),
    Route("/api/branches/{branch}/complaints", list_complaints, methods=["GET"]),
    Route("/api/branches/{branch}/complaints/{complaint}", update_complaint, methods=["PATCH"]),
    Route("/api/branches/{branch}/ratings", list_ratings, methods=["GET"]),
]
