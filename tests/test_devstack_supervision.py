"""`dev.py up` keeps its worker and API running: a child that ends is restarted with backoff and
the restart is logged; a child that keeps ending stops the whole stack with a clear message.

The launcher tests run the real `python -m devstack up` on free ports (Postgres database of its
own, Temporal dev server, migrations, worker, API) and kill its children with real signals.
"""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest

from api.security import mint_token
from devstack.postgres import create_database, local_test_postgres_url, with_database
from devstack.processes import free_port, port_in_use, spawn
from devstack.supervisor import CrashLoop, RestartPolicy, Supervisor
from domain.slots import next_slot_after
from settings import DEV_JWT_SECRET

REPO = Path(__file__).resolve().parents[1]
STARTUP_SECONDS = 180


def test_a_child_that_keeps_ending_is_restarted_with_growing_pauses_then_given_up(
    tmp_path: Path,
) -> None:
    said: list[str] = []
    children = [spawn("flaky", [sys.executable, "-c", "exit(3)"], tmp_path / "flaky.log")]
    policy = RestartPolicy(first_delay_seconds=0.1, crash_limit=3, window_seconds=60)
    supervisor = Supervisor(children, ["flaky"], policy, say=said.append)
    pids = {children[0].process.pid}

    with pytest.raises(CrashLoop) as stopped:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            supervisor.tick()
            pids.add(children[0].process.pid)
            time.sleep(0.02)

    assert supervisor.restarts == 2 and len(pids) == 3  # two new processes, then no more
    assert said[0] == (
        "parley: flaky exited with code 3; restarting in 0.1 s (end 1 of 3 allowed within 60 s)"
    )
    assert "restarting in 0.2 s (end 2 of 3" in said[2]
    assert [line.split(" (pid")[0] for line in said[1::2][:2]] == ["parley: flaky restarted"] * 2
    assert "ended 3 times within 60 s" in str(stopped.value)
    log = (tmp_path / "flaky.log").read_text()
    assert log.count("--- parley: flaky restarted") == 2
    assert "--- parley: flaky exited with code 3: it ended 3 times" in log


def test_the_pause_doubles_with_each_recent_end_up_to_a_cap() -> None:
    policy = RestartPolicy(first_delay_seconds=1, max_delay_seconds=5)
    assert [policy.delay(n) for n in range(1, 6)] == [1, 2, 4, 5, 5]


class Launcher:
    """`python -m devstack up` on free ports, its stdout read line by line."""

    def __init__(self, data_dir: Path, database_url: str) -> None:
        self.api_port = free_port()
        self.api_url = f"http://127.0.0.1:{self.api_port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PARLEY_", "TEMPORAL_"))}
        env.update(DATABASE_URL=database_url, PARLEY_DEV_MODE="true", PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "devstack", "up", "--data-dir", str(data_dir),
             "--temporal-port", str(free_port()), "--ui-port", str(free_port()),
             "--api-port", str(self.api_port), "--timeout", str(STARTUP_SECONDS)],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.logs = data_dir / "logs"
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for_line(self, starting: str, timeout: float) -> str:
        """The next stdout line that starts with `starting`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                assert self.process.poll() is None, self.ended_badly()
                continue
            self.seen.append(line)
            if line.startswith(starting):
                return line
        raise AssertionError(f"no line starting {starting!r} in {timeout} s: {self.seen}")

    def output_after_exit(self) -> tuple[str, str]:
        """Everything the ended launcher printed: stdout and stderr."""
        self._reader.join(timeout=10)
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        stderr = self.process.stderr.read() if self.process.stderr else ""
        return "\n".join(self.seen), stderr

    def ended_badly(self) -> str:
        stderr = self.process.stderr.read() if self.process.stderr else ""
        return f"the launcher ended ({self.process.returncode}): {self.seen}\n{stderr}"

    def child_pid(self, module: str) -> int:
        """The pid of the launcher's child running `python -m <module>` (read from /proc)."""
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                parent = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
                argv = (proc / "cmdline").read_bytes().split(b"\0")
            except (OSError, IndexError, ValueError):
                continue
            if parent == self.process.pid and module.encode() in argv:
                return int(proc.name)
        raise AssertionError(f"no child running {module}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def launcher(tmp_path: Path) -> Iterator[Launcher]:
    """A stack started by the real launcher, on a database of its own; stopped afterwards."""
    admin_url = local_test_postgres_url(REPO / ".parley" / "test-pg")
    name = f"parley_supervision_{uuid.uuid4().hex[:10]}"
    create_database(admin_url, name)
    running = Launcher(tmp_path / "stack", with_database(admin_url, name))
    try:
        running.wait_for_line("Parley is up", STARTUP_SECONDS)
        yield running
    finally:
        running.stop()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def book_a_slot(api_url: str, within_seconds: float = 60) -> int:
    """A booking through the API, retried with its Idempotency-Key while the answer is 503 (a
    worker just started may not poll yet); its 201 needs a worker to run the request's workflow."""
    token = mint_token("supervision-" + uuid.uuid4().hex[:8], DEV_JWT_SECRET)
    slot = next_slot_after(datetime.now(UTC) + timedelta(hours=2), 10)
    body = {
        "native_language_id": "english",
        "learning_language_id": "spanish",
        "proficiency_level": "intermediate",
        "availability_start": slot.isoformat(),
    }
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex}
    deadline = time.monotonic() + within_seconds
    while True:
        answer = httpx.post(f"{api_url}/v1/match-requests", json=body, headers=headers, timeout=60)
        if answer.status_code != 503 or time.monotonic() > deadline:
            return answer.status_code
        time.sleep(1)


def ready(api_url: str, within_seconds: float = 60) -> bool:
    """True once GET /readyz answers 200."""
    deadline = time.monotonic() + within_seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(api_url + "/readyz", timeout=10) as answer:
                if answer.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.5)
    return False


def test_a_killed_worker_is_restarted_and_the_api_keeps_working(launcher: Launcher) -> None:
    worker = launcher.child_pid("worker")
    os.kill(worker, signal.SIGKILL)

    launcher.wait_for_line("parley: worker killed by SIGKILL; restarting in 1 s", 10)
    restarted = launcher.wait_for_line("parley: worker restarted (pid ", 10)
    new_pid = int(restarted.rsplit(" ", 1)[1].rstrip(")"))
    assert new_pid != worker and launcher.child_pid("worker") == new_pid
    log = (launcher.logs / "worker.log").read_text()
    assert "--- parley: worker killed by SIGKILL; restarting in 1 s" in log
    assert f"--- parley: worker restarted (pid {new_pid})" in log

    assert ready(launcher.api_url)
    assert book_a_slot(launcher.api_url) == 201
    assert launcher.process.poll() is None  # the stack is still up


def test_an_api_that_keeps_crashing_stops_the_stack_with_its_log(launcher: Launcher) -> None:
    api = launcher.child_pid("uvicorn")
    os.kill(api, signal.SIGKILL)
    # Someone else takes the API's port: every restart fails to bind, a real crash loop.
    squatter = socket.socket()
    squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    deadline = time.monotonic() + 5
    while True:
        try:
            squatter.bind(("127.0.0.1", launcher.api_port))
            break
        except OSError:
            assert time.monotonic() < deadline, "the killed API's port never came free"
            time.sleep(0.01)
    squatter.listen()
    try:
        launcher.process.wait(timeout=120)
    finally:
        squatter.close()
    stdout, stderr = launcher.output_after_exit()

    assert launcher.process.returncode == 1, stdout + stderr
    # uvicorn's own exit code for a failed startup
    assert "parley: failed: api exited with code 3: it ended 5 times within 60 s" in stderr
    assert "address already in use" in stderr  # the tail of api.log says why
    assert stdout.count("parley: api restarted (pid ") == 4
    for end, pause in enumerate((1, 2, 4, 8), start=1):
        assert f"restarting in {pause} s (end {end} of 5 allowed within 60 s)" in stdout
    assert stdout.endswith("parley: stopped")
    assert not port_in_use("127.0.0.1", launcher.api_port)
