"""The simulated market (`python -m bench --only market`): the same seeded learners on four
stacks, one per configuration, side by side (each in a process of its own, so that each stack
runs with its own settings):

- (a) fixed slots, today's rules: everyone books the first slot of the window they would ask for;
- (b) windows of 1 to 4 simulated hours (a quarter still book a single slot);
- (c) windows plus level widening (`PARLEY_WIDEN_LEVELS_MINUTES` > 0; 0 in (a) and (b));
- (d) windows plus widening plus the no-show record (`PARLEY_RANK_BY_RELIABILITY=true`;
  false in (a) to (c)).

The four run at once by default, so that the whole market takes one evening of real time
(`parallel` lowers that on a small machine, at the cost of time).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.market.configs import CONFIGS, scale_note, simulated_clock
from bench.profiles import Profile

REPO = Path(__file__).resolve().parents[2]
STAGGER_SECONDS = 3.0


def _one(
    key: str, profile: Profile, seed: int, out: Path, data_dir: Path | None, children: list[Any]
) -> dict[str, Any]:
    """Run configuration `key` in a child process; its figures, or why it failed."""
    figures = out / f"market-{key}.json"
    figures.unlink(missing_ok=True)
    log = out / f"market-{key}.log"
    command = [
        sys.executable, "-m", "bench.market.one", "--config", key, "--profile", profile.name,
        "--seed", str(seed), "--json", str(figures),
        "--learners", str(profile.market_learners),
    ]  # fmt: skip
    if data_dir is not None:
        command += ["--data-dir", str(data_dir / f"market-{key}")]
    with log.open("w") as sink:
        child = subprocess.Popen(command, cwd=REPO, stdout=sink, stderr=subprocess.STDOUT)
        children.append(child)
        code = child.wait()
    if code != 0 or not figures.exists():
        tail = log.read_text()[-2000:]
        return {"config": key, "failed": f"exit code {code}; log {log}:\n{tail}"}
    result: dict[str, Any] = json.loads(figures.read_text())
    return result


def run(
    profile: Profile, seed: int, logs: Path, data_dir: Path | None, parallel: int = 4
) -> dict[str, Any]:
    """Every configuration's market; the figures by configuration, and what they share."""
    began = time.monotonic()
    logs.mkdir(parents=True, exist_ok=True)
    children: list[subprocess.Popen[bytes]] = []
    pool = ThreadPoolExecutor(max_workers=max(1, parallel))
    try:
        futures = []
        for index, config in enumerate(CONFIGS):
            if index:
                time.sleep(STAGGER_SECONDS)  # the stacks pick free ports one after the other
            futures.append(pool.submit(_one, config.key, profile, seed, logs, data_dir, children))
        results = [future.result() for future in futures]
    finally:
        for child in children:  # stopped early: each child stops its own stack on SIGTERM
            if child.poll() is None:
                child.terminate()
        pool.shutdown(wait=True, cancel_futures=True)
    last = simulated_clock(profile.market_slots)
    return {
        "seed": seed,
        "learners": profile.market_learners,
        "evening": f"{simulated_clock(0)}-{last} simulated ({profile.market_slots} slots)",
        "time_scale": scale_note(profile.market_join_opens_slots),
        "no_shows": (
            "about 10% of attendances, concentrated on a flaky 15% of learners (55% each) "
            "against 2% for everyone else"
        ),
        "parallel": parallel,
        "seconds": round(time.monotonic() - began, 1),
        "configs": {result["config"]: result for result in results},
    }
