"""Availability windows: a request may be paired at any slot start in [availability_start,
availability_end].

- While it waits, a request holds its whole window in its owner's calendar
  (`[availability_start, availability_end + duration)`); once a session claims it, it holds only
  the session's time, which frees the rest of the window for another booking. The exclusion
  constraint of 0001 reads `booked_range`, so both holds are enforced by Postgres.
- A session may claim a request at any slot start of the request's window, no longer only at
  its start.
- Matchmakers load requests by the window, so waiting requests are indexed by both ends.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BOOKED_RANGE = """
CREATE OR REPLACE FUNCTION match_requests_set_booked_range() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.booked_range := tstzrange(
        NEW.availability_start,
        NEW.availability_end + make_interval(mins => NEW.preferred_duration_minutes),
        '[)');
    RETURN NEW;
END $$;
DROP TRIGGER match_requests_booked_range ON match_requests;
CREATE TRIGGER match_requests_booked_range
    BEFORE INSERT OR UPDATE OF availability_start, availability_end, preferred_duration_minutes
    ON match_requests
    FOR EACH ROW EXECUTE FUNCTION match_requests_set_booked_range();
"""

BOOKED_RANGE_BEFORE = """
CREATE OR REPLACE FUNCTION match_requests_set_booked_range() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.booked_range := tstzrange(
        NEW.availability_start,
        NEW.availability_start + make_interval(mins => NEW.preferred_duration_minutes),
        '[)');
    RETURN NEW;
END $$;
DROP TRIGGER match_requests_booked_range ON match_requests;
CREATE TRIGGER match_requests_booked_range
    BEFORE INSERT OR UPDATE OF availability_start, preferred_duration_minutes ON match_requests
    FOR EACH ROW EXECUTE FUNCTION match_requests_set_booked_range();
"""

# 0004's claim, at any slot start of the window, and the claimed request now holds only the
# session's time in its owner's calendar.
CLAIM = """
CREATE OR REPLACE FUNCTION sessions_claim_requests() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    claimed integer;
BEGIN
    -- A pairing that lands after its slot started would only produce two no-shows.
    IF NEW.scheduled_start <= now() THEN
        RAISE EXCEPTION 'session % starts at %, which has passed', NEW.id, NEW.scheduled_start
            USING ERRCODE = '23P94';
    END IF;
    UPDATE match_requests r
       SET status = 'matched', matched_at = NEW.created_at, session_id = NEW.id,
           released_at = NULL, updated_at = NEW.created_at,
           booked_range = tstzrange(NEW.scheduled_start, NEW.scheduled_end, '[)')
     WHERE ((r.status = 'waiting' AND r.cancel_requested_at IS NULL)
            OR (r.status = 'matched' AND EXISTS (
                SELECT 1 FROM sessions prior
                 WHERE prior.id = r.session_id AND prior.status = 'cancelled'
                   AND prior.cancel_reason = 'rearranged')))
       AND NEW.scheduled_start BETWEEN r.availability_start AND r.availability_end
       AND r.preferred_duration_minutes = NEW.duration_minutes
       AND ((r.id = NEW.match_request_one_id AND r.user_id = NEW.participant_one_id
             AND r.native_language_id = NEW.language_one_id
             AND r.learning_language_id = NEW.language_two_id)
         OR (r.id = NEW.match_request_two_id AND r.user_id = NEW.participant_two_id
             AND r.native_language_id = NEW.language_two_id
             AND r.learning_language_id = NEW.language_one_id));
    GET DIAGNOSTICS claimed = ROW_COUNT;
    IF claimed <> 2 THEN
        RAISE EXCEPTION 'session % needs two waiting, matching requests; % could be claimed',
            NEW.id, claimed USING ERRCODE = '23P91';
    END IF;
    RETURN NEW;
END $$;
"""

CLAIM_BEFORE = CLAIM.replace(
    "NEW.scheduled_start BETWEEN r.availability_start AND r.availability_end",
    "r.availability_start = NEW.scheduled_start",
).replace(
    "updated_at = NEW.created_at,\n"
    "           booked_range = tstzrange(NEW.scheduled_start, NEW.scheduled_end, '[)')",
    "updated_at = NEW.created_at",
)

INDEX = """
CREATE INDEX match_requests_waiting_window ON match_requests (availability_start, availability_end)
    WHERE status = 'waiting' AND cancel_requested_at IS NULL;
"""

REFUSE_DOWNGRADE = """
DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM match_requests WHERE availability_end <> availability_start) THEN
        RAISE EXCEPTION 'requests with availability windows exist: revision 0004 cannot hold them';
    END IF;
END $$;
"""


def upgrade() -> None:
    op.execute(BOOKED_RANGE)
    op.execute(CLAIM)
    op.execute(INDEX)


def downgrade() -> None:
    op.execute(REFUSE_DOWNGRADE)
    op.execute("DROP INDEX match_requests_waiting_window")
    op.execute(CLAIM_BEFORE)
    op.execute(BOOKED_RANGE_BEFORE)
