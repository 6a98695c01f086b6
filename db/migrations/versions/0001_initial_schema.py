"""Initial schema: languages, match requests, sessions and the rules the database guarantees.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

LANGUAGES = [
    "arabic", "bengali", "chinese", "czech", "danish", "dutch", "english", "finnish",
    "french", "german", "greek", "hebrew", "hindi", "hungarian", "indonesian", "italian",
    "japanese", "korean", "norwegian", "persian", "polish", "portuguese", "romanian",
    "russian", "spanish", "swahili", "swedish", "thai", "turkish", "ukrainian", "urdu",
    "vietnamese",
]  # fmt: skip

SCHEMA = """
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE languages (
    id   text PRIMARY KEY CHECK (id ~ '^[a-z_]+$'),
    name text NOT NULL
);

CREATE TABLE match_requests (
    id                          uuid PRIMARY KEY,
    user_id                     text NOT NULL CHECK (length(user_id) BETWEEN 1 AND 200),
    native_language_id          text NOT NULL REFERENCES languages(id),
    learning_language_id        text NOT NULL REFERENCES languages(id),
    proficiency_level           text NOT NULL CHECK (proficiency_level IN
        ('beginner', 'elementary', 'intermediate', 'upper_intermediate', 'advanced')),
    availability_start          timestamptz NOT NULL,
    availability_end            timestamptz NOT NULL,
    preferred_duration_minutes  integer NOT NULL
        CHECK (preferred_duration_minutes BETWEEN 15 AND 120),
    priority                    smallint NOT NULL DEFAULT 0 CHECK (priority IN (0, 1)),
    status                      text NOT NULL DEFAULT 'waiting' CHECK (status IN
        ('waiting', 'matched', 'cancelled', 'no_show', 'expired')),
    matched_at                  timestamptz,
    session_id                  uuid,
    replaces_request_id         uuid REFERENCES match_requests(id),
    origin_session_id           uuid,
    idempotency_key             text CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    status_reason               text,
    released_at                 timestamptz,
    booked_range                tstzrange NOT NULL,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    updated_at                  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT match_requests_languages_differ CHECK (native_language_id <> learning_language_id),
    CONSTRAINT match_requests_end_not_before_start CHECK (availability_end >= availability_start),
    CONSTRAINT match_requests_matched_has_session CHECK
        (status = 'waiting' OR status = 'cancelled' OR status = 'expired'
         OR (matched_at IS NOT NULL AND session_id IS NOT NULL)),
    CONSTRAINT match_requests_waiting_has_no_session CHECK
        (status <> 'waiting' OR session_id IS NULL),
    CONSTRAINT match_requests_no_double_booking EXCLUDE USING gist
        (user_id WITH =, booked_range WITH &&)
        WHERE (status = 'waiting' OR (status = 'matched' AND released_at IS NULL))
);
CREATE UNIQUE INDEX match_requests_idempotency ON match_requests (user_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE UNIQUE INDEX match_requests_one_rematch_per_session ON match_requests
    (origin_session_id, user_id) WHERE origin_session_id IS NOT NULL;
CREATE INDEX match_requests_session ON match_requests (session_id)
    WHERE session_id IS NOT NULL;
CREATE INDEX match_requests_user ON match_requests (user_id, availability_start DESC);
CREATE INDEX match_requests_waiting_slot ON match_requests (availability_start)
    WHERE status = 'waiting';

CREATE TABLE sessions (
    id                          uuid PRIMARY KEY,
    participant_one_id          text NOT NULL,
    participant_two_id          text NOT NULL,
    match_request_one_id        uuid NOT NULL UNIQUE REFERENCES match_requests(id),
    match_request_two_id        uuid NOT NULL UNIQUE REFERENCES match_requests(id),
    language_one_id             text NOT NULL REFERENCES languages(id),
    language_two_id             text NOT NULL REFERENCES languages(id),
    scheduled_start             timestamptz NOT NULL,
    scheduled_end               timestamptz NOT NULL,
    duration_minutes            integer NOT NULL CHECK (duration_minutes BETWEEN 15 AND 120),
    status                      text NOT NULL DEFAULT 'scheduled' CHECK (status IN
        ('scheduled', 'active', 'completed', 'cancelled')),
    actual_start                timestamptz,
    actual_end                  timestamptz,
    participant_one_joined_at   timestamptz,
    participant_two_joined_at   timestamptz,
    cancelled_by                text,
    cancel_reason               text CHECK (cancel_reason IN ('cancelled_by_user', 'no_show')),
    ended_by                    text,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    updated_at                  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT sessions_two_people CHECK (participant_one_id <> participant_two_id),
    CONSTRAINT sessions_two_requests CHECK (match_request_one_id <> match_request_two_id),
    CONSTRAINT sessions_end_after_start CHECK (scheduled_end > scheduled_start),
    CONSTRAINT sessions_cancel_reason_iff_cancelled CHECK
        ((status = 'cancelled') = (cancel_reason IS NOT NULL)),
    CONSTRAINT sessions_started_has_actual_start CHECK
        (status NOT IN ('active', 'completed') OR actual_start IS NOT NULL),
    CONSTRAINT sessions_completed_has_actual_end CHECK
        (status <> 'completed' OR actual_end IS NOT NULL)
);
CREATE INDEX sessions_participant_one ON sessions (participant_one_id, scheduled_start DESC);
CREATE INDEX sessions_participant_two ON sessions (participant_two_id, scheduled_start DESC);

ALTER TABLE match_requests
    ADD CONSTRAINT match_requests_session_fk FOREIGN KEY (session_id) REFERENCES sessions(id),
    ADD CONSTRAINT match_requests_origin_session_fk
        FOREIGN KEY (origin_session_id) REFERENCES sessions(id);

-- The time a request holds in its owner's calendar, kept by the database so callers cannot
-- disagree with it; the exclusion constraint above reads it.
CREATE FUNCTION match_requests_set_booked_range() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.booked_range := tstzrange(
        NEW.availability_start,
        NEW.availability_start + make_interval(mins => NEW.preferred_duration_minutes),
        '[)');
    RETURN NEW;
END $$;
CREATE TRIGGER match_requests_booked_range
    BEFORE INSERT OR UPDATE OF availability_start, preferred_duration_minutes ON match_requests
    FOR EACH ROW EXECUTE FUNCTION match_requests_set_booked_range();

-- A request only moves forward: waiting -> matched | cancelled | expired,
-- matched -> no_show | cancelled; anything else is a bug that must not reach the rows.
CREATE FUNCTION match_requests_guard_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status AND NOT (
        (OLD.status = 'waiting' AND NEW.status IN ('matched', 'cancelled', 'expired'))
        OR (OLD.status = 'matched' AND NEW.status IN ('no_show', 'cancelled'))
    ) THEN
        RAISE EXCEPTION 'match request % cannot go from % to %', OLD.id, OLD.status, NEW.status
            USING ERRCODE = '23P92';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER match_requests_status_transition
    BEFORE UPDATE OF status ON match_requests
    FOR EACH ROW EXECUTE FUNCTION match_requests_guard_status();

-- Seed step 3, "do this with a trigger": creating a session claims both requests in the same
-- transaction, and fails unless both are waiting, belong to the participants, sit in the
-- session's slot, are reciprocal and the slot has not started. Row locks taken by the UPDATE
-- serialise racing claims.
CREATE FUNCTION sessions_claim_requests() RETURNS trigger LANGUAGE plpgsql AS $$
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
           updated_at = NEW.created_at
     WHERE r.status = 'waiting'
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
CREATE TRIGGER sessions_claim_requests
    AFTER INSERT ON sessions
    FOR EACH ROW EXECUTE FUNCTION sessions_claim_requests();

-- A session only moves forward: scheduled -> active | cancelled, active -> completed.
-- When it closes, its requests stop holding their owners' time.
CREATE FUNCTION sessions_guard_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        IF NOT ((OLD.status = 'scheduled' AND NEW.status IN ('active', 'cancelled'))
                OR (OLD.status = 'active' AND NEW.status = 'completed')) THEN
            RAISE EXCEPTION 'session % cannot go from % to %', OLD.id, OLD.status, NEW.status
                USING ERRCODE = '23P92';
        END IF;
        IF NEW.status IN ('cancelled', 'completed') THEN
            UPDATE match_requests SET released_at = NEW.updated_at
             WHERE session_id = NEW.id AND released_at IS NULL;
        END IF;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER sessions_status_transition
    BEFORE UPDATE OF status ON sessions
    FOR EACH ROW EXECUTE FUNCTION sessions_guard_status();

-- Nothing a user did is ever lost: rows are marked, never deleted.
CREATE FUNCTION parley_forbid_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are never deleted; mark them instead', TG_TABLE_NAME
        USING ERRCODE = '23P93';
END $$;
CREATE TRIGGER match_requests_no_delete BEFORE DELETE ON match_requests
    FOR EACH ROW EXECUTE FUNCTION parley_forbid_delete();
CREATE TRIGGER sessions_no_delete BEFORE DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION parley_forbid_delete();
"""


def upgrade() -> None:
    op.execute(SCHEMA)
    values = ", ".join(f"('{lang}', '{lang.capitalize()}')" for lang in LANGUAGES)
    op.execute(f"INSERT INTO languages (id, name) VALUES {values}")


def downgrade() -> None:
    op.execute(
        "DROP TABLE IF EXISTS sessions, match_requests, languages CASCADE;"
        "DROP FUNCTION IF EXISTS match_requests_set_booked_range, match_requests_guard_status,"
        " sessions_claim_requests, sessions_guard_status, parley_forbid_delete CASCADE;"
    )
