"""Webhooks: what each configured endpoint was delivered, and what it was not (dead letters).

- `webhook_deliveries`: one row per (endpoint, event) delivered with a 2xx answer; the primary
  key makes recording it idempotent, and a retried delivery that finds its row sends nothing.
  `attempt` is the try that succeeded.
- `webhook_dead_letters`: one row per (endpoint, event) given up on after the bounded number of
  tries, with the last error; what operators read to see what an integrator missed.
- Endpoints themselves live in configuration (`PARLEY_WEBHOOKS`), not here: a row names one by
  its configured name. Neither table is ever deleted from.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TABLES = """
CREATE TABLE webhook_deliveries (
    endpoint      text NOT NULL CHECK (endpoint ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    event_id      bigint NOT NULL REFERENCES events (id),
    attempt       integer NOT NULL CHECK (attempt >= 1),
    status_code   integer NOT NULL CHECK (status_code BETWEEN 200 AND 299),
    delivered_at  timestamptz NOT NULL,
    PRIMARY KEY (endpoint, event_id)
);
CREATE TRIGGER webhook_deliveries_no_delete BEFORE DELETE ON webhook_deliveries
    FOR EACH ROW EXECUTE FUNCTION parley_forbid_delete();

CREATE TABLE webhook_dead_letters (
    endpoint          text NOT NULL CHECK (endpoint ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    event_id          bigint NOT NULL REFERENCES events (id),
    attempts          integer NOT NULL CHECK (attempts >= 1),
    last_error        text NOT NULL,
    dead_lettered_at  timestamptz NOT NULL,
    PRIMARY KEY (endpoint, event_id)
);
CREATE INDEX webhook_dead_letters_recent ON webhook_dead_letters (dead_lettered_at);
CREATE TRIGGER webhook_dead_letters_no_delete BEFORE DELETE ON webhook_dead_letters
    FOR EACH ROW EXECUTE FUNCTION parley_forbid_delete();
"""


def upgrade() -> None:
    op.execute(TABLES)


def downgrade() -> None:
    # Going back would forget what integrators were sent and what they missed: refuse when any
    # of it exists, as the earlier revisions do.
    op.execute(
        """
        DO $$
        BEGIN
            IF EXISTS (SELECT 1 FROM webhook_deliveries)
               OR EXISTS (SELECT 1 FROM webhook_dead_letters) THEN
                RAISE EXCEPTION 'webhook deliveries or dead letters exist:'
                    ' revision 0009 cannot be undone without losing them';
            END IF;
        END $$;
        DROP TABLE webhook_dead_letters, webhook_deliveries;
        """
    )
