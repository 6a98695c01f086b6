"""The event log (a transactional outbox), and single-use tickets for browser event streams.

- `events`: one row per state change a user cares about, for that user, holding the resource as
  the API shows it. Written by triggers on `match_requests` and `sessions`, so every writer (the
  activities, the API's receipts, the claim trigger) emits them, in the transaction that makes the
  change, and only on a real change: a retried transaction that changes nothing writes nothing.
- The triggers are deferred to commit and take one advisory lock there, so event ids are handed
  out in commit order: a reader that has seen id N can never later find a committed id below N
  (what resuming after `Last-Event-ID` relies on). The lock is held only from the commit's own
  triggers to the commit itself, never while a transaction waits on anything else.
- The payload is the row as the transaction commits it (a session's `rematch_refusal`, written
  after its cancel, is in the cancel's event).
- `pg_notify('parley_events', '<user>')` in the same transaction wakes listeners at commit.
- `event_tickets`: short-lived, single-use tickets a browser `EventSource` presents instead of a
  bearer token; stored hashed, marked used, never deleted.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLES = """
CREATE TABLE events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      text NOT NULL,
    type         text NOT NULL,
    occurred_at  timestamptz NOT NULL,
    payload      jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX events_user ON events (user_id, id);
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION parley_forbid_delete();

CREATE TABLE event_tickets (
    ticket_hash  text PRIMARY KEY,
    user_id      text NOT NULL,
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER event_tickets_no_delete BEFORE DELETE ON event_tickets
    FOR EACH ROW EXECUTE FUNCTION parley_forbid_delete();
"""

# The fields of the API's MatchRequestPublic and SessionPublic (tests/test_events.py compares them).
PAYLOADS = """
CREATE FUNCTION parley_request_payload(r match_requests) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', r.id, 'user_id', r.user_id, 'native_language_id', r.native_language_id,
        'learning_language_id', r.learning_language_id,
        'proficiency_level', r.proficiency_level, 'availability_start', r.availability_start,
        'availability_end', r.availability_end,
        'preferred_duration_minutes', r.preferred_duration_minutes, 'priority', r.priority,
        'status', r.status, 'matched_at', r.matched_at, 'session_id', r.session_id,
        'replaces_request_id', r.replaces_request_id, 'origin_session_id', r.origin_session_id,
        'status_reason', r.status_reason, 'cancel_requested_at', r.cancel_requested_at,
        'created_at', r.created_at, 'updated_at', r.updated_at)
$$;

CREATE FUNCTION parley_session_payload(s sessions) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', s.id, 'participant_one_id', s.participant_one_id,
        'participant_two_id', s.participant_two_id,
        'match_request_one_id', s.match_request_one_id,
        'match_request_two_id', s.match_request_two_id,
        'language_one_id', s.language_one_id, 'language_two_id', s.language_two_id,
        'scheduled_start', s.scheduled_start, 'scheduled_end', s.scheduled_end,
        'duration_minutes', s.duration_minutes, 'status', s.status,
        'actual_start', s.actual_start, 'actual_end', s.actual_end,
        'participant_one_joined_at', s.participant_one_joined_at,
        'participant_two_joined_at', s.participant_two_joined_at,
        'cancelled_by', s.cancelled_by, 'cancel_reason', s.cancel_reason,
        'ended_by', s.ended_by, 'cancel_requested_by', s.cancel_requested_by,
        'cancel_requested_at', s.cancel_requested_at, 'end_requested_by', s.end_requested_by,
        'end_requested_at', s.end_requested_at, 'rematch_refusal', s.rematch_refusal,
        'created_at', s.created_at, 'updated_at', s.updated_at)
$$;

-- Runs at commit only (deferred triggers): the lock orders ids by commit, see the docstring.
CREATE FUNCTION parley_emit_event(who text, kind text, occurred timestamptz, body jsonb)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('parley.events', 0));
    INSERT INTO events (user_id, type, occurred_at, payload) VALUES (who, kind, occurred, body);
    PERFORM pg_notify('parley_events', who);
END $$;
"""

REQUEST_EVENTS = """
CREATE FUNCTION match_requests_emit_events() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r match_requests;
    kind text;
BEGIN
    SELECT * INTO r FROM match_requests WHERE id = NEW.id;
    IF TG_OP = 'INSERT' THEN
        -- A priority rematch is Parley rebooking someone a partner let down.
        kind := CASE WHEN NEW.origin_session_id IS NOT NULL THEN 'request.rebooked'
                     ELSE 'request.waiting' END;
    ELSIF NEW.status IS DISTINCT FROM OLD.status OR NEW.session_id IS DISTINCT FROM OLD.session_id
    THEN
        kind := CASE
            WHEN NEW.status = 'cancelled' AND NEW.status_reason LIKE 'rescheduled to %'
                THEN 'request.rescheduled'
            ELSE 'request.' || NEW.status END;  -- matched (again, when rearranged), cancelled,
                                                  -- expired, no_show
    ELSE
        RETURN NULL;
    END IF;
    PERFORM parley_emit_event(NEW.user_id, kind, NEW.updated_at, parley_request_payload(r));
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER match_requests_emit_events
    AFTER INSERT ON match_requests DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION match_requests_emit_events();
CREATE CONSTRAINT TRIGGER match_requests_emit_changes
    AFTER UPDATE ON match_requests DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.status IS DISTINCT FROM OLD.status
                       OR NEW.session_id IS DISTINCT FROM OLD.session_id)
    EXECUTE FUNCTION match_requests_emit_events();
"""

SESSION_EVENTS = """
CREATE FUNCTION sessions_emit_events() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    s sessions;
    body jsonb;
    who text;
    request uuid;
BEGIN
    SELECT * INTO s FROM sessions WHERE id = NEW.id;
    body := parley_session_payload(s);
    IF TG_OP = 'INSERT' THEN
        FOR who, request IN VALUES (NEW.participant_one_id, NEW.match_request_one_id),
                                   (NEW.participant_two_id, NEW.match_request_two_id) LOOP
            -- Someone moved here from a rearranged session has a new partner.
            PERFORM parley_emit_event(who,
                CASE WHEN EXISTS (SELECT 1 FROM sessions prior
                                   WHERE prior.id <> NEW.id AND prior.cancel_reason = 'rearranged'
                                     AND request IN (prior.match_request_one_id,
                                                     prior.match_request_two_id))
                     THEN 'session.rearranged' ELSE 'session.scheduled' END,
                NEW.created_at, body);
        END LOOP;
        RETURN NULL;
    END IF;
    -- A join is news to the partner; the joiner made it.
    IF OLD.participant_one_joined_at IS NULL AND NEW.participant_one_joined_at IS NOT NULL THEN
        PERFORM parley_emit_event(NEW.participant_two_id, 'session.partner_joined',
                                  NEW.participant_one_joined_at, body);
    END IF;
    IF OLD.participant_two_joined_at IS NULL AND NEW.participant_two_joined_at IS NOT NULL THEN
        PERFORM parley_emit_event(NEW.participant_one_id, 'session.partner_joined',
                                  NEW.participant_two_joined_at, body);
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        PERFORM parley_emit_event(NEW.participant_one_id, 'session.' || NEW.status,
                                  NEW.updated_at, body);
        PERFORM parley_emit_event(NEW.participant_two_id, 'session.' || NEW.status,
                                  NEW.updated_at, body);
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER sessions_emit_events
    AFTER INSERT ON sessions DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION sessions_emit_events();
CREATE CONSTRAINT TRIGGER sessions_emit_changes
    AFTER UPDATE ON sessions DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.status IS DISTINCT FROM OLD.status
        OR (OLD.participant_one_joined_at IS NULL AND NEW.participant_one_joined_at IS NOT NULL)
        OR (OLD.participant_two_joined_at IS NULL AND NEW.participant_two_joined_at IS NOT NULL))
    EXECUTE FUNCTION sessions_emit_events();
"""


def upgrade() -> None:
    op.execute(TABLES)
    op.execute(PAYLOADS)
    op.execute(REQUEST_EVENTS)
    op.execute(SESSION_EVENTS)


def downgrade() -> None:
    # The log is derived from the rows, which stay: going back drops only the notifications.
    op.execute(
        "DROP TRIGGER sessions_emit_events ON sessions;"
        "DROP TRIGGER sessions_emit_changes ON sessions;"
        "DROP TRIGGER match_requests_emit_events ON match_requests;"
        "DROP TRIGGER match_requests_emit_changes ON match_requests;"
        "DROP FUNCTION sessions_emit_events, match_requests_emit_events, parley_emit_event,"
        " parley_request_payload, parley_session_payload;"
        "DROP TABLE event_tickets, events;"
    )
