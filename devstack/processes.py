"""Child processes of the dev stack: spawn with a log file, stop cleanly, show the log's tail."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

PR_SET_PDEATHSIG = 1


@dataclass
class Child:
    """A running child process, the file its output goes to, and how to start it again."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    command: tuple[str, ...] = ()
    env: dict[str, str] | None = None
    cwd: Path | None = None

    def exited(self) -> bool:
        """True once the process has ended."""
        return self.process.poll() is not None

    def describe_exit(self, lines: int = 30) -> str:
        """A report of how it ended, with the last lines of its log."""
        return (
            f"{self.name} {how_it_ended(self)}; "
            f"last lines of {self.log_path}:\n{tail(self.log_path, lines)}"
        )


def _die_with_parent() -> None:
    """In the child (Linux): get SIGTERM if the launcher dies, so nothing is left running."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def spawn(
    name: str,
    command: Sequence[str],
    log_path: Path,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    append: bool = False,
) -> Child:
    """Start `command` in its own session, its stdout and stderr going to `log_path` (a fresh
    file, or the end of the existing one with `append`)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    child_env = dict(env) if env is not None else None
    with log_path.open("ab" if append else "wb") as log:
        process = subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=child_env,
            cwd=cwd,
            start_new_session=True,
            # The death signal follows the thread that forks: spawn from the main thread only.
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
    return Child(name, process, log_path, tuple(command), child_env, cwd)


def respawn(child: Child) -> Child:
    """Start `child`'s command again (it must have ended), appending to the same log."""
    return spawn(
        child.name, child.command, child.log_path, env=child.env, cwd=child.cwd, append=True
    )


def note(child: Child, message: str) -> None:
    """Append a line from the launcher to `child`'s log, so the log tells its whole story."""
    with child.log_path.open("a", encoding="utf-8") as log:
        log.write(f"--- {message}\n")


def how_it_ended(child: Child) -> str:
    """`exited with code 1` or `killed by SIGKILL`, for a child that has ended."""
    code = child.process.returncode
    if code is not None and code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    return f"exited with code {code}"


def stop_all(children: Sequence[Child], timeout_seconds: float = 15.0) -> None:
    """SIGTERM every child, then SIGKILL whichever has not ended within the timeout."""
    for child in children:
        if not child.exited():
            with contextlib.suppress(ProcessLookupError):
                child.process.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.process.wait(timeout=timeout_seconds)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.process.pid, signal.SIGKILL)
            child.process.wait()


def tail(path: Path, lines: int = 30) -> str:
    """The last `lines` lines of a text file, or a note that it is empty or missing."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "    (no log)"
    kept = text.splitlines()[-lines:]
    return "\n".join("    " + line for line in kept) if kept else "    (log is empty)"


def port_in_use(host: str, port: int) -> bool:
    """True when something accepts TCP connections on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port
