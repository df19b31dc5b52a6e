"""pyproject.toml pins exactly, requirements.lock holds exactly the installed tree:
no pin that nothing needs, nothing needed that is not pinned."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def _lock() -> dict[str, str]:
    pins = {}
    for line in (REPO / "requirements.lock").read_text().splitlines():
        if line.strip():
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version
    return pins


def _direct() -> list[Requirement]:
    return [
        Requirement(r) for r in [*PROJECT["dependencies"], *PROJECT["optional-dependencies"]["dev"]]
    ]


def _closure() -> set[str]:
    """Every distribution the direct requirements pull in, with their extras."""
    seen: set[str] = set()
    todo = [(r, set(r.extras)) for r in _direct()]
    while todo:
        requirement, extras = todo.pop()
        name = canonicalize_name(requirement.name)
        key = f"{name}[{','.join(sorted(extras))}]"
        if key in seen:
            continue
        seen.add(key)
        for raw in metadata.requires(requirement.name) or []:
            child = Requirement(raw)
            environments = [{"extra": e} for e in extras] or [{"extra": ""}]
            if child.marker is None or any(child.marker.evaluate(env) for env in environments):
                todo.append((child, set(child.extras)))
    return {key.split("[")[0] for key in seen}


def test_every_direct_dependency_is_pinned_exactly_and_locked_at_that_version() -> None:
    lock = _lock()
    for requirement in _direct():
        (spec,) = requirement.specifier
        assert spec.operator == "==", f"{requirement} must be pinned with =="
        assert lock.get(canonicalize_name(requirement.name)) == spec.version, requirement


def test_the_lock_is_exactly_the_dependency_tree() -> None:
    lock, tree = set(_lock()), _closure()
    assert lock - tree == set(), "pinned but needed by nothing: remove from requirements.lock"
    assert tree - lock == set(), "installed but not pinned: regenerate requirements.lock"


def test_installed_versions_match_the_lock() -> None:
    for name, version in _lock().items():
        assert metadata.version(name) == version, name


def test_modules_the_code_imports_are_declared_not_borrowed() -> None:
    # A module imported directly must be a direct dependency, not only a
    # transitive one that could disappear with an upgrade of its parent.
    declared = {canonicalize_name(r.name) for r in _direct()}
    for module, distribution in (("httpcore", "httpcore"), ("kombu", "kombu"), ("redis", "redis")):
        uses = [
            p
            for p in (REPO / "shared").rglob("*.py")
            if re.search(rf"^\s*(import|from) {module}\b", p.read_text(), re.M)
        ]
        assert uses, f"nothing imports {module} any more: drop it from pyproject.toml"
        assert distribution in declared, f"{module} is imported by {uses[0]} but not declared"
