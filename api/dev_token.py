"""Print a development bearer token: `python -m api.dev_token USER_ID [--days N]`."""

from __future__ import annotations

import argparse
from datetime import timedelta

from api.security import mint_token
from settings import DEV_JWT_SECRET, get_settings


def main() -> None:
    """Mint a token signed with PARLEY_JWT_SECRET (or the development secret) for a user."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("user_id")
    parser.add_argument("--days", type=int, default=7)
    args = parser.parse_args()
    settings = get_settings()
    print(
        mint_token(
            args.user_id,
            settings.jwt_secret or DEV_JWT_SECRET,
            ttl=timedelta(days=args.days),
            algorithm=settings.jwt_algorithm,
        )
    )


if __name__ == "__main__":
    main()
