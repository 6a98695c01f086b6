"""Schemathesis against the real stack: every check on, no failure, and bookings that reach 201.

The app runs under uvicorn in this event loop, with the stack's worker on the time-skipping
Temporal server and a real Postgres, so created requests start real workflows. Schemathesis runs
in a thread and fuzzes it over HTTP, following the document's links from each created request to
reading, cancelling and rescheduling it.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import schemathesis
from schemathesis.core.parameters import ParameterLocation
from schemathesis.engine import Status, events, from_schema

from domain.slots import next_slot_after
from tests.helpers import Stack, new_calendar_offset, person
from tests.served_app import app_of, served

CREATE = ("POST", "/v1/match-requests")
RESCHEDULE = ("POST", "/v1/match-requests/{request_id}/reschedule")
BLOCK = ("POST", "/v1/blocks")
# Calendar stretches (6 hours each, see tests/helpers) the fuzzer books in: room for many
# requests that do not overlap, so that most positive bookings are accepted.
STRETCHES = 3
# Bounds that keep the run to a minute or two on a shared two-core machine.
MAX_EXAMPLES = 40
MAX_STATEFUL_STEPS = 20


@dataclass
class Outcome:
    """What one Schemathesis run did and found."""

    statuses: Counter[tuple[str, str, int]] = field(default_factory=Counter)
    cases_by_phase: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    seed: int | None = None

    def created(self) -> int:
        """How many bookings and reschedules were accepted (201)."""
        return sum(n for (_, _, code), n in self.statuses.items() if code == 201)

    def summary(self) -> str:
        """The figures, one line each."""
        by_code = Counter[int]()
        for (_, _, code), n in self.statuses.items():
            by_code[code] += n
        return "\n".join(
            [
                f"schemathesis (seed {self.seed}): {self.cases_by_phase.total()} cases in "
                f"{self.seconds:.0f} s, by phase {dict(self.cases_by_phase)}",
                f"responses by status: {dict(sorted(by_code.items()))}",
                f"201s: {self.created()} "
                f"(create {self.statuses[(*CREATE, 201)]}, reschedule "
                f"{self.statuses[(*RESCHEDULE, 201)]})",
                f"failures: {len(self.failures)}, errors: {len(self.errors)}",
            ]
        )


@dataclass(frozen=True)
class Bookable:
    """Turns a schema-valid booking into one the domain accepts too: real languages, a slot; and
    a block of someone else."""

    slots: list[datetime]
    languages: list[str]
    # The fuzzer's own id (it learns it from `GET /v1/me`): blocking yourself is a rule's 422.
    own_user_id: str = ""

    def slot(self, seed: Any) -> str:
        """A slot of the fuzzer's stretch, picked by the generated value (so it still varies)."""
        return self.slots[zlib.crc32(repr(seed).encode()) % len(self.slots)].isoformat()

    def language(self, seed: Any, avoid: str | None = None) -> str:
        """A real language id, picked by the generated value."""
        choices = [language for language in self.languages if language != avoid]
        return choices[zlib.crc32(repr(seed).encode()) % len(choices)]

    def map_case(self, case: schemathesis.Case) -> schemathesis.Case:
        """Positive bodies of create, reschedule and block, made acceptable; all else untouched."""
        key = (case.operation.method.upper(), case.operation.path)
        if key not in (CREATE, RESCHEDULE, BLOCK) or not isinstance(case.body, dict):
            return case
        if case.meta is not None and case.meta.is_negative_at(ParameterLocation.BODY):
            return case  # meant to be refused: leave it so
        body: dict[str, Any] = dict(case.body)
        if key == BLOCK:
            if body.get("user_id") == self.own_user_id:
                body["user_id"] = f"not-{self.own_user_id}"
            case.body = body
            return case
        if "availability_start" in body:
            body["availability_start"] = self.slot(body["availability_start"])
        if key == CREATE:
            if "native_language_id" in body:
                body["native_language_id"] = self.language(body["native_language_id"])
            if "learning_language_id" in body:
                body["learning_language_id"] = self.language(
                    body["learning_language_id"], avoid=body.get("native_language_id")
                )
        # A reschedule takes a window too (0005): an end the fuzzer picked is made the start.
        if body.get("availability_end") is not None:
            body["availability_end"] = body.get("availability_start")
        case.body = body
        return case


def fuzz(base_url: str, token: str, bookable: Bookable, only_path: str | None = None) -> Outcome:
    """Run every Schemathesis phase with every check against the served app (or against one of
    its paths)."""
    config = schemathesis.Config.from_dict(
        {
            "base-url": base_url,
            "headers": {"Authorization": f"Bearer {token}"},
            "workers": 1,
            "generation": {"max-examples": MAX_EXAMPLES, "database": "none"},
            "phases": {
                "stateful": {
                    "enabled": only_path is None,  # one path alone has no links to follow
                    "max-steps": MAX_STATEFUL_STEPS,
                    # The document's own links, not links guessed from field names: the guess
                    # follows a waiting request's `session_id` (null) to /v1/sessions/None and
                    # then counts the 422 as valid input refused.
                    "inference": {"algorithms": ["location-headers"]},
                }
            },
            "cache": {"enabled": False},  # every run starts afresh and writes nothing
            # Failures show every header sent, the Idempotency-Key too (the token is a test's).
            "output": {"sanitization": {"enabled": False}},
        }
    )
    schema: schemathesis.BaseSchema = schemathesis.openapi.from_url(
        f"{base_url}/openapi.json", config=config
    )
    if only_path is not None:
        schema = schema.include(path=only_path)

    @schema.hook
    def map_case(context: schemathesis.HookContext, case: schemathesis.Case) -> schemathesis.Case:
        return bookable.map_case(case)

    outcome = Outcome(seed=config.seed)
    started = time.monotonic()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            outcome.cases_by_phase[str(event.phase)] += len(recorder.cases)
            for case_id, interaction in recorder.interactions.items():
                if interaction.response is not None:
                    operation = recorder.cases[case_id].value.operation
                    code = interaction.response.status_code
                    outcome.statuses[(operation.method.upper(), operation.path, code)] += 1
            for checks in recorder.checks.values():
                for check in checks:
                    if check.status == Status.FAILURE and check.failure_info is not None:
                        failure = check.failure_info.failure
                        outcome.failures.append(
                            f"{recorder.label} [{check.name}] {failure.title}: {failure.message}"
                            f"\n  {check.failure_info.code_sample}"
                        )
        elif isinstance(event, events.NonFatalError | events.FatalError):
            outcome.errors.append(repr(event))
    outcome.seconds = time.monotonic() - started
    return outcome


async def test_schemathesis_finds_nothing_and_reaches_the_workflows(stack: Stack) -> None:
    fuzzer = person(stack, "fuzzer")
    now = await stack.env.get_current_time()
    for _ in range(STRETCHES - 1):
        new_calendar_offset()  # keep later tests out of the stretches booked here
    minutes = stack.settings.slot_minutes
    first = next_slot_after(now + stack.calendar_offset + timedelta(minutes=30), minutes)
    last = now + stack.calendar_offset + timedelta(hours=6 * STRETCHES - 3)
    count = int((last - first) / timedelta(minutes=minutes))
    languages = [language["id"] for language in (await stack.api.get("/v1/languages")).json()]
    bookable = Bookable(
        slots=[first + timedelta(minutes=minutes * k) for k in range(count)],
        languages=languages,
        own_user_id=fuzzer.user_id,
    )
    async with served(app_of(stack)) as base_url:
        outcome = await asyncio.to_thread(fuzz, base_url, fuzzer.token, bookable)
    print(outcome.summary())
    assert not outcome.errors, outcome.errors
    assert not outcome.failures, "\n".join(outcome.failures)
    assert not [key for key in outcome.statuses if key[2] >= 500]
    assert outcome.created() > 0
