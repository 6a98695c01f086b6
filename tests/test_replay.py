"""The committed histories replay against the current code: a change to a workflow's commands
that would break running workflows fails here, naming the workflow, the file and the event.

tests/histories/README.md has the rule this enforces and how the corpus is recorded.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.common import VersioningBehavior
from temporalio.workflow import _Definition

from tests.histories.corpus import (
    HISTORIES,
    REPO,
    CorpusFile,
    RunFacts,
    corpus_files,
    current_release,
    supported_releases,
)
from tests.histories.paths import path_of, required_in
from tests.histories.replaying import replay_failure
from worker import WORKFLOWS

RELEASES = supported_releases()
FILES = [file for release in RELEASES for file in corpus_files(release)]


def pinned(workflow_type: str) -> bool:
    """Whether the worker runs this workflow type PINNED: a run finishes on the build it
    started on, so only that build's code ever replays its history."""
    for workflow in WORKFLOWS:
        definition = _Definition.must_from_class(workflow)
        if definition.name == workflow_type:
            return definition.versioning_behavior == VersioningBehavior.PINNED
    raise AssertionError(f"no workflow type {workflow_type} in worker.WORKFLOWS")


@pytest.mark.parametrize("file", FILES, ids=[str(f.relative_to(HISTORIES)) for f in FILES])
async def test_the_current_code_replays_the_history(file: Path) -> None:
    recorded = CorpusFile.read(file)
    failure = await replay_failure(recorded)
    if failure is None:
        return
    message = f"{file.relative_to(REPO)}: {failure}"
    release = file.parent.parent.name
    if release != current_release() and pinned(recorded.workflow_type):
        # An older release's pinned runs finish on that release's workers, never on this code.
        pytest.xfail(f"pinned to release {release}, which its own workers finish: {message}")
    pytest.fail(message, pytrace=False)


def test_the_current_release_has_its_histories() -> None:
    release = current_release()
    assert (HISTORIES / release).is_dir(), (
        f"no tests/histories/{release}/: record it with python -m tests.histories.record"
    )


@pytest.mark.parametrize("release", RELEASES, ids=[r.name for r in RELEASES])
def test_every_required_path_has_a_history_that_takes_it(release: Path) -> None:
    problems = []
    for workflow_type, path in required_in(release.name):
        file = release / workflow_type / f"{path}.json"
        if not file.exists():
            problems.append(f"{file.relative_to(REPO)} is missing")
            continue
        taken = path_of(RunFacts.of(CorpusFile.read(file).events))
        if taken != path:
            problems.append(f"{file.relative_to(REPO)} takes the path {taken}, not {path}")
    assert not problems, "\n".join(problems)
