"""Sessions still scheduled, by slot: what a matchmaker's no-show sweep reads at the deadline.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX sessions_scheduled_by_slot ON sessions (scheduled_start) "
        "WHERE status = 'scheduled'"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS sessions_scheduled_by_slot")
