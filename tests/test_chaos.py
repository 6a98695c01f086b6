"""The chaos scenario on its small profile: a stack of two workers and two APIs, simulated users
through the HTTP API, every kind of fault injected, and every invariant holding afterwards.

It runs the real `python -m bench --only chaos` (its own stack, nothing mocked, about two
minutes). No timing is asserted; what is asserted is that the faults and the risky moments
really happened, that every check looked at something, and that none found a violation.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.chaos.faults import KILL_WORKER, RESTART_TEMPORAL, STOP_WORKERS, TERMINATE_POSTGRES
from tests.conftest import REPO


def test_the_invariants_hold_through_worker_postgres_and_temporal_faults(tmp_path: Path) -> None:
    out = tmp_path / "chaos.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--only", "chaos", "--profile", "tiny",
         "--json", str(out), "--data-dir", str(tmp_path / "stack")],
        cwd=REPO, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert out.exists(), run.stdout[-3000:] + run.stderr[-3000:]
    chaos = json.loads(out.read_text())["chaos"]
    assert "| chaos a. no one in two live overlapping" in run.stdout
    assert chaos["settled"], "workflows were still running long after the last slot"

    faults = {fault["kind"]: fault for fault in chaos["faults"]}
    assert set(faults) == {KILL_WORKER, STOP_WORKERS, TERMINATE_POSTGRES, RESTART_TEMPORAL}
    assert faults[STOP_WORKERS]["targets"] == ["worker", "worker-2"]
    assert "restarted as pid" in faults[KILL_WORKER]["note"]
    assert "restarted as pid" in faults[RESTART_TEMPORAL]["note"]

    # The load really went through both APIs, and users acted in the risky seconds.
    assert all(chaos["calls_per_api"].get(api, 0) > 100 for api in ("0", "1"))
    assert chaos["plans"]["join_near_deadline"] >= 1
    calls = (tmp_path / "chaos-chaos-calls.jsonl").read_text().splitlines()
    assert len(calls) == sum(chaos["calls"].values())
    assert {"method", "path", "sent", "answered", "status"} <= set(json.loads(calls[0]))

    checks = chaos["checks"]
    assert sorted(checks) == list("abcdefghi")
    for key in "abcdfghi":
        assert checks[key]["checked"] > 0, (key, checks[key])
    assert checks["f"]["answers"], "no join or cancel was sent before a deadline"

    found = {key: check["examples"] for key, check in checks.items() if check["violations"]}
    assert chaos["violations"] == 0, json.dumps(found, indent=1)
    assert run.returncode == 0, run.stderr[-3000:]
