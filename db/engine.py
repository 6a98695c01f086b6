"""Async engine and session factory for PostgreSQL."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def make_engine(sqlalchemy_url: str, *, pool_size: int = 10) -> AsyncEngine:
    """An async engine on psycopg 3 with a bounded pool."""
    return create_async_engine(
        sqlalchemy_url, pool_size=pool_size, max_overflow=10, pool_pre_ping=True
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded rows readable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)
