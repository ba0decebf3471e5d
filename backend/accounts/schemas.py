"""Shapes of the account API."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from backend.diary.catalog import Condition
from backend.shared.schemas import Input

Email = Annotated[str, Meta(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]


class RegisterIn(Input, kw_only=True, forbid_unknown_fields=True):
    email: Email
    password: Annotated[str, Meta(max_length=4096)]
    display_name: Annotated[str, Meta(min_length=1, max_length=100)]
    role: Literal["patient", "clinician"] = "patient"
    time_zone: Annotated[str, Meta(min_length=1, max_length=64)] = "UTC"
    language: Literal["en", "es"] = "en"
    # The patient's condition(s), asked at registration (the profile's own field; the rules follow them).
    conditions: Annotated[list[Condition], Meta(max_length=7)] = []


class SignInIn(Input, kw_only=True, forbid_unknown_fields=True):
    email: Annotated[str, Meta(max_length=254)]
    password: Annotated[str, Meta(max_length=4096)]


class CodeIn(Input, kw_only=True, forbid_unknown_fields=True):
    code: Annotated[str, Meta(min_length=1, max_length=32, description="6 digits from the app, or a recovery code")]
    remember_device: bool = False


class ResetRequestIn(Input, kw_only=True, forbid_unknown_fields=True):
    email: Annotated[str, Meta(max_length=254)]


class ResetIn(Input, kw_only=True, forbid_unknown_fields=True):
    token: Annotated[str, Meta(min_length=1, max_length=128, description="From the link in the e-mail")]
    new_password: Annotated[str, Meta(max_length=4096)]


class PasswordChangeIn(Input, kw_only=True, forbid_unknown_fields=True):
    current_password: Annotated[str, Meta(max_length=4096)]
    new_password: Annotated[str, Meta(max_length=4096)]


class PasswordIn(Input, kw_only=True, forbid_unknown_fields=True):
    password: Annotated[str, Meta(max_length=4096, description="The current password (changing sign-in settings)")]


class TwoStepOut(msgspec.Struct, kw_only=True):
    enabled: bool
    required: bool
    recovery_codes_left: int


class TwoStepSetupOut(msgspec.Struct, kw_only=True):
    secret: str  # base32, for typing into an authenticator app
    otpauth_uri: str  # the same as an otpauth:// address, which the QR code holds
    qr_svg: str


class RecoveryCodesOut(msgspec.Struct, kw_only=True):
    recovery_codes: list[str]


class ResetRequested(msgspec.Struct, kw_only=True):
    status: str


class UserOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    email: str
    display_name: str
    role: str


class SessionOut(msgspec.Struct, kw_only=True, omit_defaults=True):
    user: UserOut | None
    csrf_token: str
    # "code" when the password was right and a second-step code is still needed (POST /api/v1/auth/sign-in/code).
    second_step: str | None = None


class EraseIn(Input, kw_only=True, forbid_unknown_fields=True):
    password: Annotated[str, Meta(max_length=4096)]
    confirm: Annotated[str, Meta(description='Type "erase my account" to confirm')]
