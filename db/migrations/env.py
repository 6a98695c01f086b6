"""Alembic environment: runs migrations online against the configured database."""

from alembic import context
from sqlalchemy import create_engine, pool

from db.models import Base
from settings import get_settings

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Apply migrations over one connection inside one transaction."""
    url = config.get_main_option("sqlalchemy.url") or get_settings().sqlalchemy_url
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
