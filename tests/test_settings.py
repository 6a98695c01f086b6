"""Settings refuse to run production with the published development secret."""

import pytest

from settings import DEV_JWT_SECRET, Settings


def test_without_a_secret_the_api_refuses_to_sign_or_check_tokens() -> None:
    with pytest.raises(RuntimeError, match="PARLEY_JWT_SECRET"):
        Settings(jwt_secret=None, dev_mode=False).signing_secret()


def test_development_mode_uses_the_published_development_secret() -> None:
    assert Settings(jwt_secret=None, dev_mode=True).signing_secret() == DEV_JWT_SECRET


def test_a_configured_secret_wins() -> None:
    secret = "a-long-enough-production-secret"
    assert Settings(jwt_secret=secret, dev_mode=True).signing_secret() == secret


def test_database_urls_are_given_to_sqlalchemy_with_the_psycopg_driver() -> None:
    settings = Settings(database_url="postgres://u@h:5432/d")
    assert settings.sqlalchemy_url == "postgresql+psycopg://u@h:5432/d"
