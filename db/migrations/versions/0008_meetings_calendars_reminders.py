"""Where to meet, each user's time zone and calendar feed, and session reminders.

- `sessions.meeting_url`: the link the two participants meet at, written with the session by the
  matchmaker's transaction (the provider is the operator's choice, `PARLEY_MEETING_PROVIDER`).
  Sessions made before this revision have none. It joins the session's event payload, which only
  its two participants receive.
- `user_settings`: one row per user who changed a setting; a user without one is in UTC.
- `calendar_feeds`: a user's calendar feed secrets, stored hashed; a feed is revoked by stamping
  `revoked_at`, never deleted, and a user has at most one live feed.
- `session_reminders`: one row per (session, kind) reminder sent, `before_start` and
  `join_open`; the primary key makes sending one idempotent. Inserting one emits a
  `session.reminder` event to both participants at commit (the payload is the session, plus the
  reminder's kind), through the same outbox function as every other event.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TABLES = """
ALTER TABLE sessions ADD COLUMN meeting_url text
    CHECK (meeting_url IS NULL OR meeting_url ~ '^https?://');

CREATE TABLE user_settings (
    user_id     text PRIMARY KEY CHECK (length(user_id) BETWEEN 1 AND 200),
    time_zone   text NOT NULL DEFAULT 'UTC' CHECK (length(time_zone) BETWEEN 1 AND 64),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER user_settings_no_delete BEFORE DELETE ON user_settings
    FOR EACH ROW EXECUTE FUNCTION parley_forbid_delete();

CREATE TABLE calendar_feeds (
    id           uuid PRIMARY KEY,
    user_id      text NOT NULL CHECK (length(user_id) BETWEEN 1 AND 200),
    secret_hash  text NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    CONSTRAINT calendar_feeds_revoked_after_created CHECK
        (revoked_at IS NULL OR revoked_at >= created_at)
);
CREATE UNIQUE INDEX calendar_feeds_live ON calendar_feeds (user_id) WHERE revoked_at IS NULL;
CREATE TRIGGER calendar_feeds_no_delete BEFORE DELETE ON calendar_feeds
    FOR EACH ROW EXECUTE FUNCTION parley_forbid_delete();

CREATE TABLE session_reminders (
    session_id  uuid NOT NULL REFERENCES sessions (id),
    kind        text NOT NULL CHECK (kind IN ('before_start', 'join_open')),
    sent_at     timestamptz NOT NULL,
    PRIMARY KEY (session_id, kind)
);
CREATE TRIGGER session_reminders_no_delete BEFORE DELETE ON session_reminders
    FOR EACH ROW EXECUTE FUNCTION parley_forbid_delete();
"""

# 0007's payload with the meeting link; tests/test_events.py compares it with SessionPublic.
SESSION_PAYLOAD = """
CREATE OR REPLACE FUNCTION parley_session_payload(s sessions) RETURNS jsonb
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
        'meeting_url', s.meeting_url,
        'created_at', s.created_at, 'updated_at', s.updated_at)
$$;
"""

REMINDER_EVENTS = """
CREATE FUNCTION session_reminders_emit_events() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    s sessions;
    body jsonb;
BEGIN
    SELECT * INTO s FROM sessions WHERE id = NEW.session_id;
    body := parley_session_payload(s) || jsonb_build_object('reminder', NEW.kind);
    PERFORM parley_emit_event(s.participant_one_id, 'session.reminder', NEW.sent_at, body);
    PERFORM parley_emit_event(s.participant_two_id, 'session.reminder', NEW.sent_at, body);
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER session_reminders_emit_events
    AFTER INSERT ON session_reminders DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION session_reminders_emit_events();
"""


def upgrade() -> None:
    op.execute(TABLES)
    op.execute(SESSION_PAYLOAD)
    op.execute(REMINDER_EVENTS)


def downgrade() -> None:
    # Going back loses the feeds, time zones, reminders sent and meeting links: refuse when any
    # exists, as the earlier revisions do, rather than drop what users did.
    op.execute(
        """
        DO $$
        BEGIN
            IF EXISTS (SELECT 1 FROM session_reminders) OR EXISTS (SELECT 1 FROM calendar_feeds)
               OR EXISTS (SELECT 1 FROM user_settings)
               OR EXISTS (SELECT 1 FROM sessions WHERE meeting_url IS NOT NULL) THEN
                RAISE EXCEPTION 'meeting links, time zones, calendar feeds or reminders exist:'
                    ' revision 0008 cannot be undone without losing them';
            END IF;
        END $$;
        DROP TRIGGER session_reminders_emit_events ON session_reminders;
        DROP FUNCTION session_reminders_emit_events;
        DROP TABLE session_reminders, calendar_feeds, user_settings;
        ALTER TABLE sessions DROP COLUMN meeting_url;
        """
    )
    op.execute(SESSION_PAYLOAD.replace("        'meeting_url', s.meeting_url,\n", ""))
