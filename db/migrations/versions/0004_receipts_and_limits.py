"""What a user asked, recorded when it reached Parley; a cap on live requests; a rate limiter.

- Receipts: a join is stamped on the session (`participant_*_joined_at`, as before), and a cancel
  or an end is recorded as `*_requested_by/_at`, by the API before it answers, so that a worker
  outage never loses them and the deadline rules judge them by the time they arrived. A waiting
  request carries `cancel_requested_at` the same way: from then on no session may claim it.
- A session records why the let-down partner's rematch could not be booked (`rematch_refusal`).
- A user holds at most `parley.max_live_requests` waiting requests (set per transaction by the
  writer; 20 when unset); the rematches Parley books for a let-down partner, and requests their
  owner already asked to cancel, neither count against it nor are refused by it. Racing inserts
  of one user queue on an advisory lock, so no race can pass the cap.
- `rate_limits` keeps one theoretical arrival time per user and action (GCRA), shared by every
  API process.
- `abandoned_bookings` records the bookings the API answered 503 for, so that none is made later.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

COLUMNS = """
ALTER TABLE match_requests ADD COLUMN cancel_requested_at timestamptz;
ALTER TABLE sessions
    ADD COLUMN cancel_requested_by text,
    ADD COLUMN cancel_requested_at timestamptz,
    ADD COLUMN end_requested_by text,
    ADD COLUMN end_requested_at timestamptz,
    ADD COLUMN rematch_refusal text,
    ADD CONSTRAINT sessions_cancel_request_whole CHECK
        ((cancel_requested_by IS NULL) = (cancel_requested_at IS NULL)),
    ADD CONSTRAINT sessions_cancel_requested_by_participant CHECK
        (cancel_requested_by IS NULL
         OR cancel_requested_by IN (participant_one_id, participant_two_id)),
    ADD CONSTRAINT sessions_end_request_whole CHECK
        ((end_requested_by IS NULL) = (end_requested_at IS NULL)),
    ADD CONSTRAINT sessions_end_requested_by_participant CHECK
        (end_requested_by IS NULL OR end_requested_by IN (participant_one_id, participant_two_id));
DROP INDEX match_requests_waiting_slot;
CREATE INDEX match_requests_waiting_slot ON match_requests (availability_start)
    WHERE status = 'waiting' AND cancel_requested_at IS NULL;
CREATE INDEX match_requests_waiting_user ON match_requests (user_id) WHERE status = 'waiting';
CREATE INDEX match_requests_origin_session ON match_requests (origin_session_id)
    WHERE origin_session_id IS NOT NULL;
"""

# 0003's claim, and a request whose owner asked to cancel it can no longer be claimed.
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
     WHERE ((r.status = 'waiting' AND r.cancel_requested_at IS NULL)
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
    "((r.status = 'waiting' AND r.cancel_requested_at IS NULL)", "(r.status = 'waiting'"
)

# 0003's check at commit, and a session someone asked to cancel is theirs to cancel: it is
# never rearranged away under them.
LEAVE_NOBODY = """
CREATE OR REPLACE FUNCTION sessions_rearranged_leave_nobody() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.participant_one_joined_at IS NOT NULL OR NEW.participant_two_joined_at IS NOT NULL THEN
        RAISE EXCEPTION 'session % was joined and cannot be rearranged', NEW.id
            USING ERRCODE = '23P95';
    END IF;
    IF NEW.cancel_requested_by IS NOT NULL THEN
        RAISE EXCEPTION 'session % has a cancel recorded and cannot be rearranged', NEW.id
            USING ERRCODE = '23P95';
    END IF;
    IF EXISTS (SELECT 1 FROM match_requests WHERE session_id = NEW.id) THEN
        RAISE EXCEPTION 'session % was rearranged but left a request without a new session',
            NEW.id USING ERRCODE = '23P95';
    END IF;
    RETURN NULL;
END $$;
"""

LEAVE_NOBODY_BEFORE = """
CREATE OR REPLACE FUNCTION sessions_rearranged_leave_nobody() RETURNS trigger
LANGUAGE plpgsql AS $$
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
"""

LIVE_CAP = """
CREATE FUNCTION match_requests_cap_live() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    cap integer := coalesce(
        nullif(current_setting('parley.max_live_requests', true), '')::integer, 20);
    live integer;
BEGIN
    IF NEW.status <> 'waiting' OR NEW.origin_session_id IS NOT NULL THEN
        RETURN NEW;  -- a let-down partner's rematch is Parley's doing, not theirs
    END IF;
    -- Serialise one user's inserts: the count below then sees every earlier one committed.
    PERFORM pg_advisory_xact_lock(hashtextextended('parley.live-requests:' || NEW.user_id, 0));
    SELECT count(*) INTO live FROM match_requests
     WHERE user_id = NEW.user_id AND status = 'waiting'
       AND origin_session_id IS NULL AND cancel_requested_at IS NULL;
    IF live >= cap THEN
        RAISE EXCEPTION 'you already hold % live requests, the most allowed '
            '(PARLEY_MAX_LIVE_REQUESTS=%)', live, cap USING ERRCODE = '23P96';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER match_requests_cap_live BEFORE INSERT ON match_requests
    FOR EACH ROW EXECUTE FUNCTION match_requests_cap_live();
"""

# A booking (or a reschedule's new request) the API stopped waiting for: its caller was told
# 503, so the request must not be made for that caller any more. Written by the API under the
# request's advisory lock; the writer of the request takes the same lock and checks it.
ABANDONED = """
CREATE TABLE abandoned_bookings (
    request_id  uuid PRIMARY KEY,
    answer_by   timestamptz NOT NULL
);
"""

RATE_LIMITS = """
CREATE TABLE rate_limits (
    user_id                 text NOT NULL,
    action                  text NOT NULL,
    -- GCRA: when the bucket would be empty again if nothing more came.
    theoretical_arrival     timestamptz NOT NULL,
    PRIMARY KEY (user_id, action)
);
"""

REFUSE_DOWNGRADE = """
DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM match_requests WHERE cancel_requested_at IS NOT NULL)
       OR EXISTS (SELECT 1 FROM sessions WHERE cancel_requested_at IS NOT NULL
                  OR end_requested_at IS NOT NULL OR rematch_refusal IS NOT NULL) THEN
        RAISE EXCEPTION 'users'' cancel and end receipts are recorded: revision 0003 cannot '
            'hold them';
    END IF;
END $$;
"""


def upgrade() -> None:
    op.execute(COLUMNS)
    op.execute(CLAIM)
    op.execute(LEAVE_NOBODY)
    op.execute(LIVE_CAP)
    op.execute(RATE_LIMITS)
    op.execute(ABANDONED)


def downgrade() -> None:
    op.execute(REFUSE_DOWNGRADE)
    op.execute("DROP TABLE abandoned_bookings, rate_limits")
    op.execute(
        "DROP TRIGGER match_requests_cap_live ON match_requests;"
        "DROP FUNCTION match_requests_cap_live;"
    )
    op.execute(CLAIM_BEFORE)
    op.execute(LEAVE_NOBODY_BEFORE)
    op.execute(
        "DROP INDEX match_requests_origin_session, match_requests_waiting_user,"
        " match_requests_waiting_slot;"
        "CREATE INDEX match_requests_waiting_slot ON match_requests (availability_start)"
        " WHERE status = 'waiting';"
        "ALTER TABLE sessions DROP COLUMN rematch_refusal, DROP COLUMN end_requested_at,"
        " DROP COLUMN end_requested_by, DROP COLUMN cancel_requested_at,"
        " DROP COLUMN cancel_requested_by;"
        "ALTER TABLE match_requests DROP COLUMN cancel_requested_at;"
    )
