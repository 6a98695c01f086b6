"""Regenerate this release's replay corpus: `python -m tests.histories.record [pytest args]`.

Runs the tests that take the corpus's paths with PARLEY_RECORD_HISTORIES set, tells every
recorded run's path from its history, keeps the smallest history per (workflow type, path) and
writes tests/histories/<release>/<WorkflowType>/<path>.json, <release> being the version in
pyproject.toml. A folder the current code no longer replays is left alone: that code is a new
release (bump the version) or its change belongs behind `workflow.patched`.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

from tests.histories.corpus import (
    HISTORIES,
    REPO,
    CorpusFile,
    RunFacts,
    corpus_files,
    corpus_json,
    current_release,
)
from tests.histories.paths import REQUIRED, path_of
from tests.histories.recording import RECORD_ENV
from tests.histories.replaying import replay_failure


@dataclass
class Recorded:
    """One recorded run that took a path."""

    workflow_type: str
    path: str
    workflow_id: str
    test: str
    events: list[dict]
    size: int


def run_tests(recordings: Path, pytest_args: list[str]) -> set[str]:
    """Run the source tests with recording on; the node ids of those that failed."""
    report = recordings / "junit.xml"
    tests = sorted(set(REQUIRED.values()))
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests]
    command += [f"--junitxml={report}", *pytest_args]
    env = {**os.environ, RECORD_ENV: str(recordings)}
    subprocess.run(command, cwd=REPO, env=env, check=False)
    failed = set()
    for case in ElementTree.parse(report).iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            module = case.attrib["classname"].removeprefix("tests.")
            failed.add(f"{module}.py::{case.attrib['name']}")
    return failed


def recorded_runs(recordings: Path, failed: set[str]) -> list[Recorded]:
    """Every recorded run of a passing test that took a path the corpus keeps."""
    runs = []
    for file in sorted(recordings.glob("*/*/*.json")):
        test, workflow_id = file.parent.parent.name, file.parent.name
        if test in failed:
            continue
        events = json.loads(file.read_text())["events"]
        facts = RunFacts.of(events)
        path = path_of(facts)
        if path is not None:
            size = len(corpus_json(workflow_id, path, test, events))
            runs.append(Recorded(facts.workflow_type, path, workflow_id, test, events, size))
    return runs


def smallest_per_path(runs: list[Recorded]) -> dict[tuple[str, str], Recorded]:
    """The run with the fewest events (then bytes) for each (workflow type, path)."""
    kept: dict[tuple[str, str], Recorded] = {}
    for run in sorted(runs, key=lambda r: (len(r.events), r.size)):
        kept.setdefault((run.workflow_type, run.path), run)
    return kept


def refuse_if_changed(release: Path) -> None:
    """Stop if the current code cannot replay this release's committed histories."""
    broken = [
        f"{file.relative_to(HISTORIES)}: {failure}"
        for file in corpus_files(release)
        if (failure := asyncio.run(replay_failure(CorpusFile.read(file)))) is not None
    ]
    if broken:
        sys.exit(
            f"the current code does not replay release {release.name}'s histories:\n  "
            + "\n  ".join(broken)
            + "\nput the change behind workflow.patched(...), or bump the version in "
            "pyproject.toml and record the new release's folder"
        )


def write(release: Path, kept: dict[tuple[str, str], Recorded]) -> None:
    """Write the kept histories; a path not recorded this time keeps its earlier file."""
    for (workflow_type, path), run in kept.items():
        file = release / workflow_type / f"{path}.json"
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(corpus_json(run.workflow_id, path, f"tests/{run.test}", run.events))


def report(release: Path, kept: dict[tuple[str, str], Recorded]) -> None:
    """Print what was kept, and warn about every required path missing."""
    print(f"\nrelease {release.name}: kept {len(kept)} histories")
    print(f"{'workflow type':22} {'path':24} {'events':>6} {'bytes':>7}  source test")
    for (workflow_type, path), run in sorted(kept.items()):
        extra = "" if (workflow_type, path) in REQUIRED else "  (not required)"
        print(
            f"{workflow_type:22} {path:24} {len(run.events):>6} {run.size:>7}  "
            f"tests/{run.test}{extra}"
        )
    for key, test in sorted(REQUIRED.items()):
        if key not in kept:
            kept_before = (release / key[0] / f"{key[1]}.json").exists()
            note = "the earlier file is kept" if kept_before else "NO FILE: the replay test fails"
            print(f"WARNING: no run took {key[0]} {key[1]} (expected from {test}); {note}")


def main() -> None:
    """Record, classify, keep and write; extra arguments go to pytest."""
    release = HISTORIES / current_release()
    if release.exists():
        refuse_if_changed(release)
    with tempfile.TemporaryDirectory(prefix="parley-histories-") as tmp:
        recordings = Path(tmp)
        failed = run_tests(recordings, sys.argv[1:])
        for test in sorted(failed):
            print(f"WARNING: {test} failed; its histories are not used")
        kept = smallest_per_path(recorded_runs(recordings, failed))
    write(release, kept)
    report(release, kept)


if __name__ == "__main__":
    main()
