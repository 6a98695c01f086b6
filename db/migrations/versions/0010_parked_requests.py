"""Parked requests: a booking with no possible partner yet does not wake its matchmaker.

- `match_requests.matchmaker_told_at`: when a matchmaker was first handed the request. Empty
  while the request is parked: it waits, but no matchmaker holds it, because nobody it could
  ever pair with (or swap into a pair with) was waiting or seated when it was booked. The next
  booking that could pair with it hands it to the matchmaker with itself (`db.counterparts`).
  Waiting rows from before this revision were all handed over when booked, so they are marked.
- Two partial indexes make the booking's look for a counterpart an index probe: one over the
  requests a counterpart can be (waiting or seated), one over the parked ones alone.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

UPGRADE = """
ALTER TABLE match_requests ADD COLUMN matchmaker_told_at timestamptz;
UPDATE match_requests SET matchmaker_told_at = created_at WHERE status = 'waiting';
CREATE INDEX match_requests_counterparts ON match_requests
    (native_language_id, learning_language_id, preferred_duration_minutes, availability_start)
    WHERE status IN ('waiting', 'matched');
CREATE INDEX match_requests_parked ON match_requests
    (native_language_id, learning_language_id, preferred_duration_minutes, availability_start)
    WHERE status = 'waiting' AND matchmaker_told_at IS NULL;
"""

# Going back is safe once every parked request is in its matchmaker's hands: revision 0009's
# code tells the matchmaker of every booking, and would never tell it of a parked one.
REFUSE_DOWNGRADE = """
DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM match_requests
               WHERE status = 'waiting' AND matchmaker_told_at IS NULL) THEN
        RAISE EXCEPTION 'parked requests exist: revision 0009 would never pair them';
    END IF;
END $$;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(REFUSE_DOWNGRADE)
    op.execute("DROP INDEX match_requests_parked, match_requests_counterparts")
    op.execute("ALTER TABLE match_requests DROP COLUMN matchmaker_told_at")
