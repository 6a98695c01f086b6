"""Apply every pending migration: `python -m db.migrate`."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from settings import get_settings

ALEMBIC_INI = Path(__file__).with_name("alembic.ini")


def alembic_config(sqlalchemy_url: str) -> Config:
    """An Alembic config pointing at this package's migrations and the given database."""
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("sqlalchemy.url", sqlalchemy_url.replace("%", "%%"))
    return config


def upgrade(sqlalchemy_url: str | None = None) -> None:
    """Bring the database schema to the newest revision."""
    command.upgrade(alembic_config(sqlalchemy_url or get_settings().sqlalchemy_url), "head")


if __name__ == "__main__":
    upgrade()
    print("parley: migrations applied")
