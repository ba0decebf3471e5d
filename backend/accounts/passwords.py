"""Password rules (NIST SP 800-63B, ASVS 6.2) and Argon2id hashing (ASVS 11.4.2).

Length is what matters: at least 8 characters, long pass-phrases welcome, no composition rules, and the most common
passwords refused.
"""

from __future__ import annotations

import functools
import unicodedata
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 8
MAX_LENGTH = 1024  # far beyond the 64 ASVS asks for, yet bounded so hashing cannot be used to exhaust the server

_hasher = PasswordHasher()  # argon2-cffi defaults to Argon2id with RFC 9106's low-memory profile


@functools.cache
def common_passwords() -> frozenset[str]:
    text = (Path(__file__).parent / "common-passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line and not line.startswith("#"))


def normalise(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


def password_problem(password: str, *, email: str = "") -> str | None:
    """Why this password cannot be used, in words for the person choosing it, or None when it is fine."""
    pw = normalise(password)
    if len(pw) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters. A short sentence is easy to remember and hard to guess."
    if len(pw) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    if pw.lower() in common_passwords():
        return "This password is one of the most common ones and is easy to guess. Please choose another."
    if email and pw.lower() == email.lower():
        return "Do not use your e-mail address as your password."
    return None


def hash_password(password: str) -> str:
    return _hasher.hash(normalise(password))


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, normalise(password))
    except (VerificationError, InvalidHashError):
        return False


# A real hash to check against when the e-mail is unknown, so that a sign-in takes as long either way.
DUMMY_HASH = _hasher.hash("not-a-real-password-0f6c2e")
