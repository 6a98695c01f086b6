"""The simulated market, run on tiny numbers so that it cannot rot: four stacks (one per
configuration), learners acting through the API, figures read back from Postgres.

Which configuration wins is measured by the full run, never asserted here: only that the report
has its shape and that its numbers agree with each other.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def test_the_market_runs_every_configuration_on_tiny_numbers(tmp_path: Path) -> None:
    out = tmp_path / "market.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--only", "market", "--profile", "tiny", "--json",
         str(out), "--data-dir", str(tmp_path / "stack")],
        cwd=REPO, capture_output=True, text=True, timeout=420, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    market = json.loads(out.read_text())["market"]
    assert "| market (a) fixed slots, today's rules: match rate |" in run.stdout
    assert set(market["configs"]) == {"a", "b", "c", "d"}
    for key, each in market["configs"].items():
        assert "failed" not in each, each.get("failed")
        assert each["settled"], key
        assert each["learners"] == market["learners"] == 80
        assert 0 < each["learners_who_booked"] <= each["learners"]
        assert 0 <= each["requests_matched"] <= each["requests"]
        assert each["requests"] == sum(each["requests_by_status"].values())
        assert each["requests"] >= each["original_requests"] >= each["learners_who_booked"]
        assert 0.0 <= each["match_rate"] <= 1.0
        assert each["match_rate"] == round(each["requests_matched"] / each["requests"], 4)
        assert each["requests_matched"] == 2 * each["sessions"]
        assert each["learners_matched"] <= each["learners_who_booked"]
        assert 0 <= each["rebooked_matched"] <= each["rebooked"]
        assert each["calls"].get("book 201", 0) == each["original_requests"]
        assert each["calls"].get("book 500", 0) == 0
        if each["requests_matched"]:
            assert each["median_wait_seconds"] >= 0
        offline = each["offline"]
        assert offline["pairs_made"] == each["sessions"]
        assert offline["pairs_maximum"] >= offline["pairs_made"]
        assert offline["paused"] <= offline["slot_shards"]
        short = offline["short_where_paused"] + offline["short_where_not_paused"]
        assert short <= offline["slot_shards"]
    assert market["configs"]["a"]["window_requests"] == 0
