"""The migrations go up and down on a database of their own, and refuse to lose data."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy.exc import DBAPIError

from db.migrate import alembic_config
from devstack.postgres import create_database, drop_database, local_test_postgres_url, with_database
from settings import Settings
from tests.conftest import REPO
from tests.rows import insert_request, rearrange_four, user


@pytest.fixture
def scratch_url() -> Iterator[str]:
    """A new, empty database, dropped afterwards."""
    admin_url = local_test_postgres_url(REPO / ".parley" / "test-pg")
    name = f"parley_migrations_{uuid.uuid4().hex[:10]}"
    create_database(admin_url, name)
    try:
        yield with_database(admin_url, name)
    finally:
        drop_database(admin_url, name)


def test_every_migration_goes_down_and_up_again(scratch_url: str) -> None:
    config = alembic_config(Settings(database_url=scratch_url).sqlalchemy_url)
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    command.upgrade(config, "head")
    with psycopg.connect(scratch_url) as conn:
        (version,) = conn.execute("SELECT version_num FROM alembic_version").fetchone() or ("",)
    assert version == ScriptDirectory.from_config(config).get_current_head()


def test_rearranged_sessions_keep_the_schema_from_going_back_below_them(scratch_url: str) -> None:
    config = alembic_config(Settings(database_url=scratch_url).sqlalchemy_url)
    command.upgrade(config, "head")
    with psycopg.connect(scratch_url) as conn:
        rearrange_four(conn)
    with pytest.raises(DBAPIError, match="rearranged"):
        command.downgrade(config, "0002")
    with psycopg.connect(scratch_url) as conn:
        (version,) = conn.execute("SELECT version_num FROM alembic_version").fetchone() or ("",)
    assert version == ScriptDirectory.from_config(config).get_current_head()


def test_requests_with_windows_keep_the_schema_from_going_back_below_them(
    scratch_url: str,
) -> None:
    config = alembic_config(Settings(database_url=scratch_url).sqlalchemy_url)
    command.upgrade(config, "head")
    with psycopg.connect(scratch_url) as conn:
        request = insert_request(conn, user(), "english", "spanish")
        conn.execute(
            "UPDATE match_requests SET availability_end = availability_start + interval '1 hour',"
            " matchmaker_told_at = created_at WHERE id = %s",
            (request,),
        )
        conn.commit()
    with pytest.raises(DBAPIError, match="windows"):
        command.downgrade(config, "0004")


def test_parked_requests_keep_the_schema_from_going_back_below_them(scratch_url: str) -> None:
    config = alembic_config(Settings(database_url=scratch_url).sqlalchemy_url)
    command.upgrade(config, "head")
    with psycopg.connect(scratch_url) as conn:
        insert_request(conn, user(), "english", "spanish")  # no matchmaker told: parked
        conn.commit()
    with pytest.raises(DBAPIError, match="parked requests exist"):
        command.downgrade(config, "0009")
    with psycopg.connect(scratch_url) as conn:
        conn.execute("UPDATE match_requests SET matchmaker_told_at = created_at")
        conn.commit()
    command.downgrade(config, "0009")
    command.upgrade(config, "head")


def test_recorded_blocks_keep_the_schema_from_going_back_below_them(scratch_url: str) -> None:
    config = alembic_config(Settings(database_url=scratch_url).sqlalchemy_url)
    command.upgrade(config, "head")
    with psycopg.connect(scratch_url) as conn:
        conn.execute(
            "INSERT INTO user_blocks (id, user_id, blocked_user_id) VALUES (%s, %s, %s)",
            (uuid.uuid4(), user(), user()),
        )
        conn.commit()
    with pytest.raises(DBAPIError, match="blocks are recorded"):
        command.downgrade(config, "0005")
    with psycopg.connect(scratch_url) as conn:
        (version,) = conn.execute("SELECT version_num FROM alembic_version").fetchone() or ("",)
    assert version == ScriptDirectory.from_config(config).get_current_head() == "0010"


def test_webhook_dead_letters_keep_the_schema_from_going_back_below_them(scratch_url: str) -> None:
    config = alembic_config(Settings(database_url=scratch_url).sqlalchemy_url)
    command.upgrade(config, "head")
    with psycopg.connect(scratch_url) as conn:
        insert_request(conn, user(), "english", "spanish")
        conn.execute("UPDATE match_requests SET matchmaker_told_at = created_at")  # not parked
        conn.commit()  # which writes its event
        conn.execute(
            "INSERT INTO webhook_dead_letters (endpoint, event_id, attempts, last_error,"
            " dead_lettered_at) SELECT 'crm', max(id), 10, 'HTTP 500', now() FROM events"
        )
        conn.commit()
        with pytest.raises(psycopg.Error, match="never deleted"):
            conn.execute("DELETE FROM webhook_dead_letters")
    with pytest.raises(DBAPIError, match="dead letters exist"):
        command.downgrade(config, "0008")
