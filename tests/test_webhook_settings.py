"""Webhook endpoints come from `PARLEY_WEBHOOKS` (JSON), with Standard Webhooks secrets that the
logs never show."""

from __future__ import annotations

import json
import logging

import pytest
from pydantic import ValidationError

from observability.logs import Redact
from settings import Settings
from tests.webhook_receiver import new_secret


def test_endpoints_are_read_from_json_and_their_secrets_stay_out_of_sight(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = new_secret()
    endpoints = [{"name": "crm", "url": "https://crm.example/hooks", "secret": secret}]
    monkeypatch.setenv("PARLEY_WEBHOOKS", json.dumps(endpoints))
    monkeypatch.setenv("PARLEY_WEBHOOK_MAX_ATTEMPTS", "5")
    settings = Settings()
    (endpoint,) = settings.webhooks
    assert (endpoint.name, endpoint.url, settings.webhook_max_attempts) == (
        "crm",
        "https://crm.example/hooks",
        5,
    )
    assert endpoint.secret.get_secret_value() == secret
    assert secret not in repr(settings)
    assert secret in settings.secrets() and secret.removeprefix("whsec_") in settings.secrets()
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "signing with %s", (secret,), None)
    Redact(settings.secrets()).filter(record)
    assert secret.removeprefix("whsec_") not in record.getMessage()


@pytest.mark.parametrize(
    ("endpoint", "why"),
    [
        ({"name": "crm", "url": "https://x", "secret": "s3cret-but-not-standard"}, "whsec_"),
        ({"name": "crm", "url": "https://x", "secret": "whsec_not*base64!"}, "base64"),
        ({"name": "crm", "url": "https://x", "secret": "whsec_c2hvcnQ="}, "24 to 64 bytes"),
        ({"name": "CRM!", "url": "https://x", "secret": new_secret()}, "pattern"),
        ({"name": "crm", "url": "ftp://x", "secret": new_secret()}, "pattern"),
    ],
)
def test_a_malformed_endpoint_is_refused(endpoint: dict[str, str], why: str) -> None:
    with pytest.raises(ValidationError, match=why):
        Settings(webhooks=[endpoint])  # type: ignore[list-item]


def test_endpoint_names_are_unique() -> None:
    twice = {"name": "crm", "url": "https://x", "secret": new_secret()}
    with pytest.raises(ValidationError, match="unique"):
        Settings(webhooks=[twice, twice])  # type: ignore[list-item]
