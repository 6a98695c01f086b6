"""Sessions may be rearranged before anyone joins: their requests move to new sessions.

A matchmaker that finds it can seat more people by swapping partners cancels the old sessions
with reason `rearranged` and inserts the new ones in the same transaction; the claim trigger
lets a new session take a request whose session was just rearranged, as well as a waiting one.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

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
           released_at = NULL, updated_at = NEW.created_at
     WHERE (r.status = 'waiting'
            OR (r.status = 'matched' AND EXISTS (
                SELECT 1 FROM sessions prior
                 WHERE prior.id = r.session_id AND prior.status = 'cancelled'
                   AND prior.cancel_reason = 'rearranged')))
       AND r.availability_start = NEW.scheduled_start
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
    """     WHERE (r.status = 'waiting'
            OR (r.status = 'matched' AND EXISTS (
                SELECT 1 FROM sessions prior
                 WHERE prior.id = r.session_id AND prior.status = 'cancelled'
                   AND prior.cancel_reason = 'rearranged')))""",
    "     WHERE r.status = 'waiting'",
).replace("           released_at = NULL, updated_at", "           updated_at")


# A request sits in one session at a time; a rearranged session no longer holds its requests.
ONE_SESSION_PER_REQUEST = """
ALTER TABLE sessions DROP CONSTRAINT sessions_match_request_one_id_key,
                     DROP CONSTRAINT sessions_match_request_two_id_key;
CREATE UNIQUE INDEX sessions_request_one_held ON sessions (match_request_one_id)
    WHERE cancel_reason IS DISTINCT FROM 'rearranged';
CREATE UNIQUE INDEX sessions_request_two_held ON sessions (match_request_two_id)
    WHERE cancel_reason IS DISTINCT FROM 'rearranged';
"""


# Checked at commit: a session is rearranged only before anyone joined it, and only in the same
# transaction as the new sessions that seat both of its people.
LEAVE_NOBODY = """
CREATE FUNCTION sessions_rearranged_leave_nobody() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.participant_one_joined_at IS NOT NULL OR NEW.participant_two_joined_at IS NOT NULL THEN
        RAISE EXCEPTION 'session % was joined and cannot be rearranged', NEW.id
            USING ERRCODE = '23P95';
    END IF;
    IF EXISTS (SELECT 1 FROM match_requests WHERE session_id = NEW.id) THEN
        RAISE EXCEPTION 'session % was rearranged but left a request without a new session',
            NEW.id USING ERRCODE = '23P95';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER sessions_rearranged_leave_nobody
    AFTER UPDATE OF status ON sessions DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.cancel_reason = 'rearranged')
    EXECUTE FUNCTION sessions_rearranged_leave_nobody();
"""

REFUSE_DOWNGRADE = """
DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM sessions WHERE cancel_reason = 'rearranged') THEN
        RAISE EXCEPTION 'sessions have been rearranged: revision 0002 cannot hold them';
    END IF;
END $$;
"""


def upgrade() -> None:
    op.execute(
        "ALTER TABLE sessions DROP CONSTRAINT sessions_cancel_reason_check, "
        "ADD CONSTRAINT sessions_cancel_reason_check "
        "CHECK (cancel_reason IN ('cancelled_by_user', 'no_show', 'rearranged'))"
    )
    op.execute(ONE_SESSION_PER_REQUEST)
    op.execute(CLAIM)
    op.execute(LEAVE_NOBODY)


def downgrade() -> None:
    op.execute(REFUSE_DOWNGRADE)
    op.execute(
        "DROP TRIGGER sessions_rearranged_leave_nobody ON sessions;"
        "DROP FUNCTION sessions_rearranged_leave_nobody;"
    )
    op.execute(CLAIM_BEFORE)
    op.execute(
        "DROP INDEX sessions_request_one_held, sessions_request_two_held;"
        "ALTER TABLE sessions ADD CONSTRAINT sessions_match_request_one_id_key"
        " UNIQUE (match_request_one_id),"
        " ADD CONSTRAINT sessions_match_request_two_id_key UNIQUE (match_request_two_id);"
    )
    op.execute(
        "ALTER TABLE sessions DROP CONSTRAINT sessions_cancel_reason_check, "
        "ADD CONSTRAINT sessions_cancel_reason_check "
        "CHECK (cancel_reason IN ('cancelled_by_user', 'no_show'))"
    )
