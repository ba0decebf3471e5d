"""Every setting the service reads, from the environment, in one place.

Development defaults are safe for a laptop; production mode refuses to start with any of them where that would be
unsafe (the development secret above all).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
N = TypeVar("N", int, float)
DEV_SECRET = "dev-only-secret-do-not-use-in-production"


class ConfigError(RuntimeError):
    """The environment asks for something the service must not do."""


def _number(env: dict[str, str], name: str, default: N, kind: type[N], words: str) -> N:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return kind(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be {words}, got {raw!r}") from exc


def _int(env: dict[str, str], name: str, default: int) -> int:
    return _number(env, name, default, int, "a whole number")


@dataclass(frozen=True)
class Settings:
    environment: str = "development"
    database_url: str = f"sqlite+aiosqlite:///{ROOT / 'var' / 'spasm-diary.db'}"
    secret_key: str = DEV_SECRET
    base_url: str = "http://127.0.0.1:8000"
    # Patients log from their own phone, often days apart: a long idle limit keeps them signed in. Clinicians sit at
    # shared clinic workstations, so theirs is short (HIPAA 164.312(a)(2)(iii) automatic logoff; ASVS 7.3.1/7.3.2).
    patient_idle_minutes: int = 14 * 24 * 60
    patient_absolute_minutes: int = 30 * 24 * 60
    clinician_idle_minutes: int = 30
    clinician_absolute_minutes: int = 12 * 60
    max_body_bytes: int = 256 * 1024
    load_demo_data: bool = True
    db_pool_size: int = 10
    sweep_seconds: int = 300  # 0 turns the periodic flag sweep off in this process
    limit_sign_in_per_address: int = 30  # per 15 minutes, whatever the accounts
    sign_in_free_failures: int = 5  # wrong passwords per account and address before each try has to wait
    limit_register_per_address: int = 10  # per hour
    limit_writes_per_minute: int = 1000  # diary writes per patient
    limit_redeem_per_hour: int = 10  # invitation-code attempts per clinician (twice that per address)
    flag_delay_seconds: float = 2.0  # writes within this time share one full flag evaluation
    log_format: str = "text"  # "json" (one object per line) is the default in production
    log_level: str = "info"
    reminder_seconds: int = 20  # how often this process plans and sends due reminders; 0 turns it off
    vapid_subject: str = "mailto:operator@example.org"  # who push services may contact about our pushes
    smtp_host: str = ""  # e-mail reminders only when set
    smtp_port: int = 587
    smtp_from: str = "spasm-diary@example.org"
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = True
    # Host names this service answers to (the Host header); in production at least the base URL's host.
    allowed_hosts: tuple[str, ...] = ()
    # Push services beyond the browsers' own (backend/reminders/endpoints.py), as host names or suffixes.
    push_allowed_hosts: tuple[str, ...] = ()
    # Two-step sign-in for clinicians: None follows the environment (required in production, optional elsewhere).
    clinician_two_step: bool | None = None

    @property
    def production(self) -> bool:
        return self.environment == "production"

    @property
    def hosts(self) -> tuple[str, ...]:
        """The Host names requests must carry: SPASM_ALLOWED_HOSTS, and in production always the base URL's own
        host (a request for another name is answered 400, so a forged Host cannot steer links or caches)."""
        # The Host header is compared whole, port included: the base URL's own form of it, and the listed ones as
        # written (name:port where clients use a port).
        own = urlsplit(self.base_url).netloc.rsplit("@", 1)[-1].lower()
        if self.production:
            return tuple(dict.fromkeys([own, *self.allowed_hosts]))
        return self.allowed_hosts

    @property
    def two_step_required(self) -> bool:
        return self.production if self.clinician_two_step is None else self.clinician_two_step

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def check(self) -> None:
        if self.log_format not in {"json", "text"}:
            raise ConfigError(f"SPASM_LOG_FORMAT must be json or text, got {self.log_format!r}")
        if self.log_level not in {"debug", "info", "warning", "error"}:
            raise ConfigError(f"SPASM_LOG_LEVEL must be debug, info, warning or error, got {self.log_level!r}")
        if self.environment not in {"development", "test", "production"}:
            raise ConfigError(f"SPASM_ENV must be development, test or production, got {self.environment!r}")
        for name in (
            "patient_idle_minutes",
            "patient_absolute_minutes",
            "clinician_idle_minutes",
            "clinician_absolute_minutes",
            "max_body_bytes",
        ):
            if getattr(self, name) <= 0:
                raise ConfigError(f"SPASM_{name.upper()} must be greater than 0")
        if self.production:
            if self.secret_key == DEV_SECRET or len(self.secret_key) < 32:
                raise ConfigError(
                    "SPASM_SECRET_KEY must be set to a random value of at least 32 characters in production "
                    "(for example: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
                )
            if not self.vapid_subject.startswith(("mailto:", "https://")):
                raise ConfigError("SPASM_VAPID_SUBJECT must be a mailto: or https:// address (RFC 8292)")
            if not self.base_url.startswith("https://"):
                raise ConfigError("SPASM_BASE_URL must be an https:// address in production")


def _float(env: dict[str, str], name: str, default: float) -> float:
    return _number(env, name, default, float, "a number")


def _two_step(raw: str) -> bool | None:
    choices = {"": None, "required": True, "optional": False}
    if raw.strip().lower() not in choices:
        raise ConfigError(f"SPASM_CLINICIAN_TWO_STEP must be required or optional, got {raw!r}")
    return choices[raw.strip().lower()]


def _names(env: dict[str, str], name: str) -> tuple[str, ...]:
    """A comma-separated list of host names, in lower case."""
    return tuple(part.strip().lower() for part in env.get(name, "").split(",") if part.strip())


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    defaults = Settings()
    settings = Settings(
        environment=env.get("SPASM_ENV", defaults.environment),
        database_url=env.get("SPASM_DATABASE_URL", defaults.database_url),
        secret_key=env.get("SPASM_SECRET_KEY", defaults.secret_key),
        base_url=env.get("SPASM_BASE_URL", defaults.base_url).rstrip("/"),
        patient_idle_minutes=_int(env, "SPASM_PATIENT_IDLE_MINUTES", defaults.patient_idle_minutes),
        patient_absolute_minutes=_int(env, "SPASM_PATIENT_ABSOLUTE_MINUTES", defaults.patient_absolute_minutes),
        clinician_idle_minutes=_int(env, "SPASM_CLINICIAN_IDLE_MINUTES", defaults.clinician_idle_minutes),
        clinician_absolute_minutes=_int(env, "SPASM_CLINICIAN_ABSOLUTE_MINUTES", defaults.clinician_absolute_minutes),
        max_body_bytes=_int(env, "SPASM_MAX_BODY_BYTES", defaults.max_body_bytes),
        load_demo_data=env.get("SPASM_LOAD_DEMO_DATA", "1") not in {"0", "false", "no"},
        db_pool_size=_int(env, "SPASM_DB_POOL_SIZE", defaults.db_pool_size),
        sweep_seconds=_int(env, "SPASM_SWEEP_SECONDS", defaults.sweep_seconds),
        limit_sign_in_per_address=_int(env, "SPASM_LIMIT_SIGN_IN_PER_ADDRESS", defaults.limit_sign_in_per_address),
        sign_in_free_failures=_int(env, "SPASM_SIGN_IN_FREE_FAILURES", defaults.sign_in_free_failures),
        limit_register_per_address=_int(env, "SPASM_LIMIT_REGISTER_PER_ADDRESS", defaults.limit_register_per_address),
        limit_writes_per_minute=_int(env, "SPASM_LIMIT_WRITES_PER_MINUTE", defaults.limit_writes_per_minute),
        limit_redeem_per_hour=_int(env, "SPASM_LIMIT_REDEEM_PER_HOUR", defaults.limit_redeem_per_hour),
        flag_delay_seconds=_float(env, "SPASM_FLAG_DELAY_SECONDS", defaults.flag_delay_seconds),
        reminder_seconds=_int(env, "SPASM_REMINDER_SECONDS", defaults.reminder_seconds),
        log_format=env.get("SPASM_LOG_FORMAT", "json" if env.get("SPASM_ENV") == "production" else "text"),
        log_level=env.get("SPASM_LOG_LEVEL", defaults.log_level).lower(),
        vapid_subject=env.get("SPASM_VAPID_SUBJECT", defaults.vapid_subject),
        smtp_host=env.get("SPASM_SMTP_HOST", ""),
        smtp_port=_int(env, "SPASM_SMTP_PORT", defaults.smtp_port),
        smtp_from=env.get("SPASM_SMTP_FROM", defaults.smtp_from),
        smtp_user=env.get("SPASM_SMTP_USER", ""),
        smtp_password=env.get("SPASM_SMTP_PASSWORD", ""),
        smtp_starttls=env.get("SPASM_SMTP_STARTTLS", "1") not in {"0", "false", "no"},
        allowed_hosts=_names(env, "SPASM_ALLOWED_HOSTS"),
        push_allowed_hosts=_names(env, "SPASM_PUSH_ALLOWED_HOSTS"),
        clinician_two_step=_two_step(env.get("SPASM_CLINICIAN_TWO_STEP", "")),
    )
    settings.check()
    return settings
