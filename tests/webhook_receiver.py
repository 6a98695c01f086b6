"""An integrator's webhook receiver, served over real HTTP: it verifies each Standard Webhooks
signature with the `standardwebhooks` package, records every arrival, and answers 500 to the
tries it is told to fail (after recording them, as a receiver that processed a delivery but
could not say so would: the retry is a duplicate to de-duplicate by `webhook-id`)."""

from __future__ import annotations

import base64
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request, Response
from standardwebhooks import Webhook, WebhookVerificationError


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


@dataclass(frozen=True)
class Arrival:
    """One POST that passed verification, and what the receiver answered."""

    webhook_id: int
    user_id: str
    type: str
    status: int


# (the event as posted, how many times it has arrived, this one included) -> answer 500?
FailRule = Callable[[dict[str, Any], int], bool]


class Receiver:
    """A FastAPI app at `POST /hooks` that verifies with `secret` and fails as `fails` says."""

    def __init__(self, secret: str, fails: FailRule) -> None:
        self.arrivals: list[Arrival] = []
        self.refused: list[str] = []
        self._webhook = Webhook(secret)
        self._fails = fails
        self.app = FastAPI()
        self.app.add_api_route("/hooks", self._receive, methods=["POST"])

    async def _receive(self, request: Request) -> Response:
        body = await request.body()
        try:
            event = self._webhook.verify(body, dict(request.headers))
        except WebhookVerificationError as error:
            self.refused.append(str(error))
            return Response(status_code=401)
        event_id = int(request.headers["webhook-id"])
        assert event["id"] == event_id
        nth = 1 + sum(1 for seen in self.arrivals if seen.webhook_id == event_id)
        status = 500 if self._fails(event, nth) else 204
        self.arrivals.append(Arrival(event_id, event["user_id"], event["type"], status))
        return Response(status_code=status)

    def distinct(self) -> list[Arrival]:
        """Each event's first arrival, in arrival order: what a receiver de-duplicating by
        `webhook-id` keeps."""
        seen: set[int] = set()
        kept = []
        for arrival in self.arrivals:
            if arrival.webhook_id not in seen:
                seen.add(arrival.webhook_id)
                kept.append(arrival)
        return kept

    def times(self) -> Counter[int]:
        """How many times each event arrived."""
        return Counter(arrival.webhook_id for arrival in self.arrivals)

    def acknowledged(self) -> Counter[int]:
        """How many times each event was answered 2xx."""
        return Counter(a.webhook_id for a in self.arrivals if 200 <= a.status < 300)
