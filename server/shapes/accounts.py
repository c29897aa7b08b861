"""Accounts: logging in, the session, and the admins' account endpoints."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from server.auth import Role
from server.shapes.fields import (
    MAX_BRANCH,
    MAX_PASSWORD,
    MAX_ROLE,
    MAX_USERNAME,
    Password,
    Seconds,
    Shape,
    choice,
    text,
)

Username = Annotated[str, text(MAX_USERNAME, "[A-Za-z0-9_.-]+", rule="must be 1-64 letters, digits, '.', '-' or '_'")]
Counters = Annotated[list[str], Meta(description="Counter ids of the account's branch: where a staff account works.")]


class LoginRequest(Shape):
    username: Annotated[str, text(MAX_USERNAME)]
    password: Annotated[str, text(MAX_PASSWORD)]


class Login(Struct, kw_only=True):
    token: Annotated[str, Meta(description="Send it as Authorization: Bearer <token>.")]
    role: Role
    branch: Annotated[str, Meta(description="The account's branch; * for every branch.")]
    counters: list[str]
    expires_in: Seconds


class Session(Struct, kw_only=True):
    username: str
    role: Role
    branch: str
    counters: list[str]
    expires_at: Annotated[int, Meta(description="Unix time, seconds.")]
    csrf_token: Annotated[str, Meta(description="Send it as X-CSRF-Token with cookie sessions.")]


class NewUser(Shape):
    """A new account. Only an admin account may belong to every branch (``*``)."""

    username: Username
    password: Password
    role: Annotated[str, text(MAX_ROLE, choice(Role), rule="must be admin, manager, staff, kiosk or display")]
    branch: (
        Annotated[
            str,
            text(MAX_BRANCH, description="The account's branch (default: this one); * (every branch) only for admins."),
        ]
        | None
    ) = None
    counters: Counters = msgspec.field(default_factory=list)


class User(Struct, kw_only=True):
    username: str
    role: Role
    branch: str
    counters: list[str]


class Account(User, kw_only=True):
    disabled: bool


class Accounts(Struct):
    users: list[Account]


class AccountChange(Shape, forbid_unknown_fields=True, kw_only=True):
    """A new password, disabling or the counters end the account's sessions."""

    password: Password | UnsetType = UNSET
    disabled: Annotated[bool, Meta(description="An admin cannot disable their own account.")] | UnsetType = UNSET
    counters: Counters | UnsetType = UNSET
