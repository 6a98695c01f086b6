"""What crosses the webhook delivery workflow and its activities: its name, inputs, results and
state. Only endpoint names and event ids travel: a URL, a secret or an event's payload never
enters a workflow history (the activities read them from configuration and Postgres)."""

# No `from __future__ import annotations`: the workflow sandbox resolves string annotations
# against its own module table, where a module imported only by another one is missing.
from dataclasses import dataclass, field
from datetime import datetime

WEBHOOK_DELIVERY_WORKFLOW = "WebhookDeliveryWorkflow"
# Its `ParleyKind` search attribute: `ParleyKind="webhooks"` lists every endpoint's workflow.
WEBHOOKS_KIND = "webhooks"
# Signal on a delivery workflow: look for new events now, not at the next poll.
WAKE = "wake"
# The error type of an activity asked about an endpoint this worker's configuration lacks.
UNKNOWN_ENDPOINT = "UnknownWebhookEndpoint"
# Events whose deliveries run at once, one user's after another's (each user's in order).
PARALLEL_USERS = 8


def webhook_workflow_id(endpoint: str) -> str:
    """`webhooks-<endpoint name>`, one workflow per configured endpoint."""
    return f"webhooks-{endpoint}"


@dataclass(frozen=True)
class DeliveryPolicy:
    """How an endpoint is delivered to, from the worker's configuration (each batch carries it,
    so a changed setting applies from the next batch, without restarting the workflow)."""

    max_attempts: int = 10
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 60.0
    timeout_seconds: float = 10.0
    poll_seconds: float = 300.0
    idle_poll_seconds: float = 300.0
    batch_size: int = 100


@dataclass
class WebhookDeliveryInput:
    """Deliver every event after `cursor` (None: where this endpoint's deliveries left off, or
    from now on for a new endpoint) to one endpoint; the counters carry across runs."""

    endpoint: str
    cursor: int | None = None
    delivered: int = 0
    dead_lettered: int = 0
    last_dead_letter: str | None = None
    runs: int = 0
    # Continue as new before the history grows past this many events.
    history_event_budget: int = 2_000


@dataclass
class WebhookDeliveryResult:
    """Why a delivery workflow ended (its endpoint left the configuration), and how far it got."""

    endpoint: str
    cursor: int | None
    delivered: int
    dead_lettered: int
    reason: str


@dataclass
class WebhookDeliveryState:
    """Query `state`: how far an endpoint's deliveries are, and what they gave up on."""

    endpoint: str
    cursor: int | None
    delivered: int
    dead_lettered: int
    last_dead_letter: str | None
    in_flight_event_ids: list[int]
    runs: int


@dataclass
class NextEventsInput:
    """The next events after `after` for one endpoint (`after` None: where to start)."""

    endpoint: str
    after: int | None


@dataclass(frozen=True)
class EventRef:
    """An event as the workflow needs it: its id and whose it is (for per-user order)."""

    id: int
    user_id: str


@dataclass
class NextEventsResult:
    """Up to `policy.batch_size` events after `after`, in id (commit) order; `configured` is
    False once the endpoint has left this worker's configuration."""

    after: int
    events: list[EventRef] = field(default_factory=list)
    configured: bool = True
    policy: DeliveryPolicy = field(default_factory=DeliveryPolicy)


@dataclass
class DeliverEventInput:
    """POST one event to one endpoint."""

    endpoint: str
    event_id: int


@dataclass
class DeliverEventResult:
    """The event reached the endpoint (2xx), on this try or an earlier one (`already`)."""

    event_id: int
    status_code: int
    attempt: int
    already: bool = False


@dataclass
class DeadLetterInput:
    """Give up on one event for one endpoint after `attempts` tries that ended in `error`."""

    endpoint: str
    event_id: int
    attempts: int
    error: str
    at: datetime


@dataclass
class DeadLetterResult:
    """Whether this call recorded the dead letter (False: an earlier try had)."""

    recorded: bool
