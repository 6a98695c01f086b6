"""Block lists, and the index the reliability record reads.

- `user_blocks`: who blocked whom. A block is lifted by stamping `removed_at`; rows are never
  deleted, so the history of who blocked whom stays. At most one active block per ordered pair.
- A session between two people where either has an active block on the other is refused by the
  database (SQLSTATE 23P97), whatever code writes it: a first pairing and a rearranged one are
  both inserts. Existing sessions are left alone: blocking does not cancel them.
- Racing a block against a session of the same pair is ordered by an advisory lock on the pair
  (shared for sessions, exclusive for blocks), so a block's answer lists every session it let
  stand, and no session is made after it.

The reliability record (sessions and no-shows over 90 days) is computed from `sessions` through
the `sessions_participant_*` indexes of 0001; it needs no table and no counter.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BLOCKS = """
CREATE TABLE user_blocks (
    id               uuid PRIMARY KEY,
    user_id          text NOT NULL CHECK (length(user_id) BETWEEN 1 AND 200),
    blocked_user_id  text NOT NULL CHECK (length(blocked_user_id) BETWEEN 1 AND 200),
    created_at       timestamptz NOT NULL DEFAULT now(),
    removed_at       timestamptz,
    CONSTRAINT user_blocks_not_self CHECK (user_id <> blocked_user_id),
    CONSTRAINT user_blocks_removed_after_created CHECK
        (removed_at IS NULL OR removed_at >= created_at)
);
CREATE UNIQUE INDEX user_blocks_active ON user_blocks (user_id, blocked_user_id)
    WHERE removed_at IS NULL;
-- The trigger below looks a pair up from either side.
CREATE INDEX user_blocks_active_blocked ON user_blocks (blocked_user_id, user_id)
    WHERE removed_at IS NULL;
CREATE TRIGGER user_blocks_no_delete BEFORE DELETE ON user_blocks
    FOR EACH ROW EXECUTE FUNCTION parley_forbid_delete();

-- The key both sides lock: the unordered pair, so A-B and B-A share it.
CREATE FUNCTION parley_pair_lock_key(a text, b text) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
    SELECT hashtextextended('parley.pair:' || least(a, b) || chr(31) || greatest(a, b), 0)
$$;

CREATE FUNCTION user_blocks_lock_pair() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Waits for any session of this pair being written to commit, so the blocker's answer can
    -- list it; sessions after this wait for the block and then see it.
    PERFORM pg_advisory_xact_lock(parley_pair_lock_key(NEW.user_id, NEW.blocked_user_id));
    RETURN NEW;
END $$;
CREATE TRIGGER user_blocks_lock_pair BEFORE INSERT ON user_blocks
    FOR EACH ROW EXECUTE FUNCTION user_blocks_lock_pair();

CREATE FUNCTION sessions_refuse_blocked_pair() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(
        parley_pair_lock_key(NEW.participant_one_id, NEW.participant_two_id));
    IF EXISTS (
        SELECT 1 FROM user_blocks b
         WHERE b.removed_at IS NULL
           AND ((b.user_id = NEW.participant_one_id AND b.blocked_user_id = NEW.participant_two_id)
             OR (b.user_id = NEW.participant_two_id AND b.blocked_user_id = NEW.participant_one_id))
    ) THEN
        RAISE EXCEPTION 'session % would pair % and %, and one of them has blocked the other',
            NEW.id, NEW.participant_one_id, NEW.participant_two_id USING ERRCODE = '23P97';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER sessions_refuse_blocked_pair BEFORE INSERT ON sessions
    FOR EACH ROW EXECUTE FUNCTION sessions_refuse_blocked_pair();
"""

REFUSE_DOWNGRADE = """
DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM user_blocks) THEN
        RAISE EXCEPTION 'users'' blocks are recorded: revision 0005 cannot hold them';
    END IF;
END $$;
"""


def upgrade() -> None:
    op.execute(BLOCKS)


def downgrade() -> None:
    op.execute(REFUSE_DOWNGRADE)
    op.execute(
        "DROP TRIGGER sessions_refuse_blocked_pair ON sessions;"
        "DROP FUNCTION sessions_refuse_blocked_pair;"
        "DROP TABLE user_blocks;"
        "DROP FUNCTION user_blocks_lock_pair, parley_pair_lock_key;"
    )
