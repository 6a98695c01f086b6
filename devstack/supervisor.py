"""Keeps the worker and the API running under `dev.py up`: a child that ends is started again
after a growing pause, and a child that keeps ending stops the stack with its log's tail."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from devstack.processes import Child, how_it_ended, note, respawn, tail


class CrashLoop(RuntimeError):
    """A child ended too often in too short a time; restarting it again would not help."""


@dataclass(frozen=True)
class RestartPolicy:
    """How soon a child is restarted, and how many ends within a window mean a crash loop."""

    first_delay_seconds: float = 1.0
    max_delay_seconds: float = 30.0
    crash_limit: int = 5
    window_seconds: float = 60.0

    def delay(self, recent_crashes: int) -> float:
        """The pause before the next start: doubling with each recent crash, capped."""
        return min(self.max_delay_seconds, self.first_delay_seconds * 2 ** (recent_crashes - 1))


@dataclass
class _Watched:
    name: str
    crashes: list[float] = field(default_factory=list)
    restart_due: float | None = None


class Supervisor:
    """Watches some of a stack's children, by name, in `children` (which it updates in place,
    so that whoever else holds the list sees the restarted process)."""

    def __init__(
        self,
        children: list[Child],
        names: Sequence[str],
        policy: RestartPolicy | None = None,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self._children = children
        self._watched = [_Watched(name) for name in names]
        self.policy = policy or RestartPolicy()
        self._say = say or (lambda message: print(message, flush=True))
        self.restarts = 0

    def tick(self, now: float | None = None) -> None:
        """Notice children that ended and start the ones whose pause is over; raise CrashLoop
        when one has ended `crash_limit` times within `window_seconds`."""
        now = time.monotonic() if now is None else now
        for watched in list(self._watched):
            child = self._child(watched.name)
            if watched.restart_due is not None:
                if now >= watched.restart_due:
                    self._restart(watched, child)
            elif child.exited() and child.process.returncode == 0:
                # It stopped on purpose (a deploy retired its build with SIGTERM): not a crash.
                self._watched.remove(watched)
                self._tell(child, f"{child.name} stopped cleanly (exit 0); not restarting it")
            elif child.exited():
                self._crashed(watched, child, now)

    def _child(self, name: str) -> Child:
        return next(child for child in self._children if child.name == name)

    def _crashed(self, watched: _Watched, child: Child, now: float) -> None:
        policy = self.policy
        watched.crashes = [t for t in watched.crashes if now - t < policy.window_seconds]
        watched.crashes.append(now)
        recent = len(watched.crashes)
        if recent >= policy.crash_limit:
            message = (
                f"{child.name} {how_it_ended(child)}: it ended {recent} times within "
                f"{policy.window_seconds:.0f} s, so it is not restarted again and the stack stops"
            )
            self._tell(child, message)
            raise CrashLoop(f"{message}; last lines of {child.log_path}:\n{tail(child.log_path)}")
        delay = policy.delay(recent)
        watched.restart_due = now + delay
        self._tell(
            child,
            f"{child.name} {how_it_ended(child)}; restarting in {delay:g} s "
            f"(end {recent} of {policy.crash_limit} allowed within {policy.window_seconds:.0f} s)",
        )

    def _restart(self, watched: _Watched, old: Child) -> None:
        new = respawn(old)
        self._children[self._children.index(old)] = new
        watched.restart_due = None
        self.restarts += 1
        self._tell(new, f"{new.name} restarted (pid {new.process.pid})")

    def _tell(self, child: Child, message: str) -> None:
        """On the launcher's stdout and in the child's own log."""
        self._say(f"parley: {message}")
        note(child, f"parley: {message}")
