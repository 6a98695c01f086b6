"""A webhook's body and its Standard Webhooks headers (https://www.standardwebhooks.com/),
signed with the maintained `standardwebhooks` package that receivers verify with."""

from __future__ import annotations

import json
from datetime import datetime
from math import floor

from standardwebhooks import Webhook

from db.models import EventRow


def webhook_body(event: EventRow) -> str:
    """The JSON body: the event as `GET /v1/events` shows it, plus whose it is."""
    return json.dumps(
        {
            "id": event.id,
            "type": event.type,
            "occurred_at": event.occurred_at.isoformat(),
            "user_id": event.user_id,
            "payload": event.payload,
        },
        separators=(",", ":"),
    )


def signed_headers(secret: str, event_id: int, body: str, at: datetime) -> dict[str, str]:
    """`webhook-id` (the event id, for receivers to de-duplicate by), `webhook-timestamp` (`at`,
    in whole seconds) and `webhook-signature` (`v1,<base64 HMAC-SHA256 of id.timestamp.body>`)."""
    message_id = str(event_id)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(floor(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
        "content-type": "application/json",
    }
