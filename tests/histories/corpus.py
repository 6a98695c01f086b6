"""The committed corpus on disk, and what a recorded run shows: its type, input, ending, result,
the signals and updates it received and the local activities it ran.

A corpus file is the history as `WorkflowHistory.to_json()` writes it (`events`), with the
workflow id and what the recorder knew beside it (`workflowId`, `workflowType`, `path`,
`recordedBy`), which `WorkflowHistory.from_json` ignores.
"""

from __future__ import annotations

import base64
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from temporalio.client import WorkflowHistory

HISTORIES = Path(__file__).resolve().parent
REPO = HISTORIES.parent.parent
RETIRED = "retired"
LOCAL_ACTIVITY_MARKER = "core_local_activity"


def current_release() -> str:
    """The project version in pyproject.toml: the folder the recorder writes."""
    with (REPO / "pyproject.toml").open("rb") as file:
        return str(tomllib.load(file)["project"]["version"])


def supported_releases() -> list[Path]:
    """Every release folder still replayed: all but those moved under retired/."""
    return sorted(p for p in HISTORIES.iterdir() if p.is_dir() and _is_release(p.name))


def _is_release(name: str) -> bool:
    return name != RETIRED and name[0].isdigit()


def corpus_files(release: Path) -> list[Path]:
    """The histories of one release folder: <release>/<WorkflowType>/<path>.json."""
    return sorted(release.glob("*/*.json"))


@dataclass
class CorpusFile:
    """One committed history and what the recorder wrote beside it."""

    workflow_id: str
    workflow_type: str
    path: str
    recorded_by: str
    history: WorkflowHistory
    events: list[dict[str, Any]]

    @classmethod
    def read(cls, file: Path) -> CorpusFile:
        """Load a corpus file."""
        data = json.loads(file.read_text())
        return cls(
            workflow_id=data["workflowId"],
            workflow_type=data["workflowType"],
            path=data["path"],
            recorded_by=data["recordedBy"],
            history=WorkflowHistory.from_json(data["workflowId"], data),
            events=data["events"],
        )


def corpus_json(workflow_id: str, path: str, recorded_by: str, events: list[dict[str, Any]]) -> str:
    """The text of a corpus file (one event a line: small, and a diff shows what changed)."""
    head = {
        "workflowId": workflow_id,
        "workflowType": RunFacts.of(events).workflow_type,
        "path": path,
        "recordedBy": recorded_by,
    }
    lines = ",\n".join(json.dumps(event, separators=(",", ":")) for event in events)
    return json.dumps(head, indent=1)[:-2] + ',\n "events": [\n' + lines + "\n ]\n}\n"


def decode(payloads: dict[str, Any] | None) -> Any:
    """The first JSON payload of a `payloads` object, decoded (None if there is none)."""
    for payload in (payloads or {}).get("payloads", []):
        if "data" in payload:
            return json.loads(base64.b64decode(payload["data"]))
    return None


@dataclass(frozen=True)
class LocalActivity:
    """A local activity's marker: its event id, sequence number, type and decoded result."""

    event_id: int
    seq: int
    activity_type: str
    result: Any


@dataclass
class RunFacts:
    """What one run's history shows, for telling its path and for naming an event."""

    workflow_type: str
    input: Any
    ending: str  # the last event's type without EVENT_TYPE_, e.g. WORKFLOW_EXECUTION_COMPLETED
    result: Any
    signals: list[str] = field(default_factory=list)
    updates: list[str] = field(default_factory=list)
    local_activities: list[LocalActivity] = field(default_factory=list)
    timers_fired: int = 0

    @classmethod
    def of(cls, events: list[dict[str, Any]]) -> RunFacts:
        """Read the facts off a history's events (as in its JSON)."""
        started = events[0]["workflowExecutionStartedEventAttributes"]
        last = events[-1]
        facts = cls(
            workflow_type=started["workflowType"]["name"],
            input=decode(started.get("input")),
            ending=last["eventType"].removeprefix("EVENT_TYPE_"),
            result=decode(last.get("workflowExecutionCompletedEventAttributes", {}).get("result")),
        )
        for event in events:
            kind = event["eventType"].removeprefix("EVENT_TYPE_")
            if kind == "WORKFLOW_EXECUTION_SIGNALED":
                facts.signals.append(
                    event["workflowExecutionSignaledEventAttributes"]["signalName"]
                )
            elif kind == "WORKFLOW_EXECUTION_UPDATE_ACCEPTED":
                accepted = event["workflowExecutionUpdateAcceptedEventAttributes"]
                facts.updates.append(accepted["acceptedRequest"]["input"]["name"])
            elif kind == "TIMER_FIRED":
                facts.timers_fired += 1
            elif kind == "MARKER_RECORDED":
                marker = event["markerRecordedEventAttributes"]
                if marker["markerName"] == LOCAL_ACTIVITY_MARKER:
                    about = decode(marker["details"]["data"])
                    facts.local_activities.append(
                        LocalActivity(
                            int(event["eventId"]),
                            about["seq"],
                            about["activity_type"],
                            decode(marker["details"].get("result")),
                        )
                    )
        return facts

    def ran(self, activity_type: str) -> list[LocalActivity]:
        """This run's local activities of one type."""
        return [la for la in self.local_activities if la.activity_type == activity_type]
