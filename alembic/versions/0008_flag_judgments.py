"""flag judgments: what a resolve, acknowledge, snooze or "I've read this" covered; rules that could not be checked

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 18:40:00
"""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("flags", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signs", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("judged_signs", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("judged_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("read_signs", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("read_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("previous_id", sa.Uuid(), nullable=True))
    with op.batch_alter_table("flags", schema=None) as batch_op:
        batch_op.alter_column("signs", server_default=None)
    op.create_table(
        "rule_failures",
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("rule_id", sa.String(length=8), nullable=False),
        sa.Column("error", sa.String(length=80), nullable=False),
        sa.Column("first_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["users.id"], name=op.f("fk_rule_failures_patient_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("patient_id", "rule_id", name=op.f("pk_rule_failures")),
    )
    _judge_existing_flags()


def _judge_existing_flags() -> None:
    """Flags a clinician resolved or acknowledged before judgments were recorded: their evidence and every day of
    their window stand for what was judged, so that upgrading never raises a resolved flag again on the same
    entries."""
    flags = sa.table(
        "flags",
        sa.column("patient_id", sa.Uuid()),
        sa.column("id", sa.Uuid()),
        sa.column("status", sa.String()),
        sa.column("window_start", sa.Date()),
        sa.column("window_end", sa.Date()),
        sa.column("evidence_episodes", sa.JSON()),
        sa.column("evidence_days", sa.JSON()),
        sa.column("acknowledged_at", sa.DateTime(timezone=True)),
        sa.column("resolved_at", sa.DateTime(timezone=True)),
        sa.column("resolved_by", sa.Uuid()),
        sa.column("judged_signs", sa.JSON()),
        sa.column("judged_at", sa.DateTime(timezone=True)),
    )
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(flags).where(
            sa.or_(flags.c.resolved_by.is_not(None), flags.c.acknowledged_at.is_not(None))
        )
    ).all()
    for row in rows:
        start, end = _date(row.window_start), _date(row.window_end)
        days = [(start + dt.timedelta(days=i)).isoformat() for i in range(min((end - start).days + 1, 400))]
        judged = sorted({*_list(row.evidence_episodes), *_list(row.evidence_days), *days})
        at = row.resolved_at if row.resolved_by is not None else row.acknowledged_at
        conn.execute(
            flags.update()
            .where(flags.c.patient_id == row.patient_id, flags.c.id == row.id)
            .values(judged_signs=judged, judged_at=at)
        )


def _list(value: object) -> list[str]:
    return [str(v) for v in (json.loads(value) if isinstance(value, str) else value or [])]


def _date(value: object) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def downgrade() -> None:
    op.drop_table("rule_failures")
    with op.batch_alter_table("flags", schema=None) as batch_op:
        batch_op.drop_column("previous_id")
        batch_op.drop_column("read_at")
        batch_op.drop_column("read_signs")
        batch_op.drop_column("judged_at")
        batch_op.drop_column("judged_signs")
        batch_op.drop_column("signs")
