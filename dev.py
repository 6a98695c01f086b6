#!/usr/bin/env python3
"""Parley's one entry point for developers, standard library only.

python3 dev.py up [devstack options]   install if needed, then start the whole service
python3 dev.py test [pytest args]      install if needed, then ruff, mypy and pytest
python3 dev.py lint                    install if needed, then ruff and mypy
python3 dev.py deploy [--to BUILD]     roll the running `dev.py up` stack to this checkout's build
python3 dev.py install                 (re)install the project into .venv
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".parley-install-stamp"
NOT_CHECKED = {".venv", "build", "dist", "node_modules"}


def say(message: str) -> None:
    """Print a progress line, flushed so that it interleaves with the tools' output."""
    print(f"dev.py: {message}", flush=True)


def venv_python() -> Path:
    """The virtual environment's interpreter."""
    if os.name == "nt":
        return VENV / "Scripts" / "python.exe"
    return VENV / "bin" / "python"


def run(command: list[str], what: str) -> None:
    """Run a command in the repo root; exit with its code if it fails."""
    say(f"{what}: {' '.join(command)}")
    started = time.monotonic()
    code = subprocess.run(command, cwd=ROOT, check=False).returncode
    took = time.monotonic() - started
    if code != 0:
        say(f"{what} failed (exit code {code}, {took:.1f} s)")
        sys.exit(code)
    say(f"{what} passed ({took:.1f} s)")


def install_fingerprint() -> str:
    """What the installed environment depends on: pyproject.toml and the Python version."""
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    digest.update(sys.version.encode())
    return digest.hexdigest()


def ensure_venv() -> Path:
    """Create .venv with this interpreter unless it exists."""
    python = venv_python()
    if not python.exists():
        say(f"creating {VENV}")
        result = subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=False)
        if result.returncode != 0:
            sys.exit(
                "dev.py: could not create the virtual environment; on Debian/Ubuntu install "
                "python3-venv (apt-get install python3-venv) and try again"
            )
    return python


def ensure_installed(force: bool = False) -> Path:
    """Install the project with its dev extras into .venv unless pyproject.toml is unchanged."""
    python = ensure_venv()
    fingerprint = install_fingerprint()
    if not force and STAMP.exists() and STAMP.read_text().strip() == fingerprint:
        say("dependencies up to date (pyproject.toml unchanged since the last install)")
        return python
    STAMP.unlink(missing_ok=True)
    command = [str(python), "-m", "pip", "install", "--disable-pip-version-check"]
    if os.environ.get("CI"):
        command += ["--progress-bar", "off"]
    run([*command, "-e", ".[dev]"], "install")
    STAMP.write_text(fingerprint + "\n")
    return python


def mypy_targets() -> list[str]:
    """The project's own code: top-level packages and modules, and the tests."""
    targets: list[str] = []
    for path in sorted(ROOT.iterdir()):
        if path.name.startswith(".") or path.name in NOT_CHECKED:
            continue
        package = path.is_dir() and ((path / "__init__.py").exists() or path.name == "tests")
        module = path.is_file() and path.suffix == ".py"
        if package or module:
            targets.append(path.name)
    return targets


def lint(python: Path) -> None:
    """ruff, then mypy on the project's code."""
    run([str(python), "-m", "ruff", "check", "."], "ruff")
    run([str(python), "-m", "mypy", *mypy_targets()], "mypy")


def deploy(python: Path, rest: list[str]) -> None:
    """`python -m deploy roll` against the running `dev.py up` stack: start a worker of this
    checkout's build, make it current, wait for the old build to drain, then stop its worker."""
    env_file = ROOT / ".parley" / "stack.env"
    if not env_file.exists():
        sys.exit("dev.py: no stack is running (start one with `python3 dev.py up`)")
    env = dict(os.environ)
    for line in env_file.read_text().splitlines():
        key, _, value = line.partition("=")
        env[key] = value
    if "--to" not in rest:
        build = subprocess.run(
            [str(python), "-c", "from deploy.versions import default_build_id as b; print(b())"],
            cwd=ROOT, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        rest = ["--to", build, *rest]
    command = [str(python), "-m", "deploy", "roll", "--start-workers", "1", "--stop-old", *rest]
    say("deploying: " + " ".join(command[1:]))
    sys.exit(subprocess.run(command, cwd=ROOT, env=env, check=False).returncode)


def main(argv: list[str]) -> None:
    """Dispatch `up`, `test`, `lint` or `install`."""
    if sys.version_info < (3, 11):  # noqa: UP036 - bare python3 may be older
        sys.exit(f"dev.py: Python 3.11 or newer is needed, this is {sys.version.split()[0]}")
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(__doc__)
        return
    command, rest = argv[0], argv[1:]
    os.chdir(ROOT)
    if command == "install":
        ensure_installed(force=True)
    elif command == "up":
        python = ensure_installed()
        say("starting the stack: python -m devstack up " + " ".join(rest))
        os.execv(python, [str(python), "-m", "devstack", "up", *rest])
    elif command == "lint":
        lint(ensure_installed())
    elif command == "deploy":
        deploy(ensure_installed(), rest)
    elif command == "test":
        started = time.monotonic()
        python = ensure_installed()
        lint(python)
        run([str(python), "-m", "pytest", *rest], "pytest")
        say(f"all checks passed in {time.monotonic() - started:.1f} s")
    else:
        sys.exit(f"dev.py: unknown command {command!r}\n{__doc__}")


if __name__ == "__main__":
    main(sys.argv[1:])
