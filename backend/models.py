"""Every table of the service, imported in one place so that Alembic and the tests see the whole schema."""

from __future__ import annotations


def register_all() -> None:
    import backend.accounts.models
    import backend.care.models
    import backend.diary.models
    import backend.flags.models
    import backend.reminders.models
    import backend.shared.access
    import backend.shared.audit
    import backend.shared.limits  # noqa: F401
