"""The base of every request body: a strict Struct that refuses fields it does not know."""

from __future__ import annotations

import msgspec


class Input(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Base of every request body."""
