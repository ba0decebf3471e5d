"""Shapes of the account API."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from backend.diary.schemas import Input

Email = Annotated[str, Meta(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]


class RegisterIn(Input, kw_only=True, forbid_unknown_fields=True):
    email: Email
    password: Annotated[str, Meta(max_length=4096)]
    display_name: Annotated[str, Meta(min_length=1, max_length=100)]
    role: Literal["patient", "clinician"] = "patient"
    time_zone: Annotated[str, Meta(min_length=1, max_length=64)] = "UTC"
    language: Literal["en", "es"] = "en"


class SignInIn(Input, kw_only=True, forbid_unknown_fields=True):
    email: Annotated[str, Meta(max_length=254)]
    password: Annotated[str, Meta(max_length=4096)]


class UserOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    email: str
    display_name: str
    role: str


class SessionOut(msgspec.Struct, kw_only=True):
    user: UserOut | None
    csrf_token: str
