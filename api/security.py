"""Bearer tokens: HS256 JWTs whose `sub` is the user id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt

REQUIRED_CLAIMS = ["sub", "exp"]


class InvalidToken(Exception):
    """The bearer token cannot be trusted."""


def mint_token(
    user_id: str, secret: str, *, ttl: timedelta = timedelta(days=7), algorithm: str = "HS256"
) -> str:
    """A signed token for `user_id` (development and tests)."""
    now = datetime.now(UTC)
    return jwt.encode({"sub": user_id, "iat": now, "exp": now + ttl}, secret, algorithm=algorithm)


def user_from_token(token: str, secret: str, algorithm: str = "HS256") -> str:
    """The user id a valid token speaks for."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=[algorithm], options={"require": REQUIRED_CLAIMS}
        )
    except jwt.PyJWTError as error:
        raise InvalidToken(str(error)) from None
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.strip() or len(subject) > 200:
        raise InvalidToken("the token's sub must be a user id of 1 to 200 characters")
    if not subject.isprintable():
        raise InvalidToken("the token's sub must not contain control characters")
    return subject
