"""Which of Parley's packages may import which, read from the source with `ast`.

`domain` imports nothing of Parley's; `contracts` imports only `domain`; `activities` never
imports `workflows` or `api`; `api` never imports `activities`; `workflows` imports `activities`
only inside `workflow.unsafe.imports_passed_through()`, where the sandbox lets them through.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO

PARLEY = {
    "activities",
    "api",
    "bench",
    "contracts",
    "db",
    "deploy",
    "devstack",
    "domain",
    "observability",
    "settings",
    "tests",
    "worker",
    "workflows",
}

# What each package may import of Parley's, besides itself.
ALLOWED = {
    "domain": set(),
    "contracts": {"domain"},
}
FORBIDDEN = {
    "activities": {"workflows", "api"},
    "api": {"activities"},
}


@dataclass(frozen=True)
class Import:
    """One import statement: which file, which line, which top-level package, and whether it
    sits inside `imports_passed_through()`."""

    file: Path
    line: int
    package: str
    passed_through: bool

    def __str__(self) -> str:
        return f"{self.file.relative_to(REPO)}:{self.line} imports {self.package}"


def _passes_through(node: ast.With) -> bool:
    return any(
        isinstance(item.context_expr, ast.Call)
        and isinstance(item.context_expr.func, ast.Attribute)
        and item.context_expr.func.attr == "imports_passed_through"
        for item in node.items
    )


def _imports(file: Path) -> Iterator[Import]:
    def visit(node: ast.AST, passed_through: bool) -> Iterator[Import]:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(file, node.lineno, alias.name.split(".")[0], passed_through)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield Import(file, node.lineno, node.module.split(".")[0], passed_through)
        inside = passed_through or (isinstance(node, ast.With) and _passes_through(node))
        for child in ast.iter_child_nodes(node):
            yield from visit(child, inside)

    yield from visit(ast.parse(file.read_text(), str(file)), False)


def imports_of(package: str) -> list[Import]:
    """Every import of Parley's own code made by a package's modules."""
    files = sorted((REPO / package).rglob("*.py"))
    return [
        found
        for file in files
        for found in _imports(file)
        if found.package in PARLEY and found.package != package
    ]


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_lower_package_imports_only_what_lies_below_it(package: str) -> None:
    wrong = [str(i) for i in imports_of(package) if i.package not in ALLOWED[package]]
    assert wrong == []


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_package_does_not_import_the_ones_it_must_not_lean_on(package: str) -> None:
    wrong = [str(i) for i in imports_of(package) if i.package in FORBIDDEN[package]]
    assert wrong == []


def test_workflows_import_activities_only_through_the_sandbox() -> None:
    wrong = [
        str(i)
        for i in imports_of("workflows")
        if i.package == "activities" and not i.passed_through
    ]
    assert wrong == []


def test_the_rule_sees_an_import_outside_the_sandbox(tmp_path: Path) -> None:
    source = (
        "from temporalio import workflow\n"
        "import activities.requests\n"
        "with workflow.unsafe.imports_passed_through():\n"
        "    from activities.sessions import SessionActivities\n"
    )
    file = tmp_path / "probe.py"
    file.write_text(source)
    found = [(i.package, i.passed_through) for i in _imports(file) if i.package in PARLEY]
    assert found == [("activities", False), ("activities", True)]


def test_every_top_level_package_is_known_to_the_rule() -> None:
    packages = {
        path.name
        for path in REPO.iterdir()
        if path.is_dir() and (path / "__init__.py").exists() and not path.name.startswith(".")
    }
    modules = {path.stem for path in REPO.glob("*.py") if path.stem != "dev"}
    assert packages | modules <= PARLEY
