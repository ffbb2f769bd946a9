"""The pip lock (requirements.lock), pyproject.toml and environment.yml name the same versions."""

from __future__ import annotations

import re
import tomllib

import yaml

from analysis.config import PROJECT_ROOT


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _lock() -> dict[str, str]:
    pins = {}
    for line in (PROJECT_ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[_norm(name)] = version
    return pins


def _conda() -> dict[str, str]:
    env = yaml.safe_load((PROJECT_ROOT / "environment.yml").read_text(encoding="utf-8"))
    pins = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for spec in dep["pip"]:
                name, version = spec.split("==")
                pins[_norm(name)] = version
        elif "=" in dep:
            name, version = dep.split("=", 1)
            pins[_norm(name)] = version
    return pins


def _direct() -> set[str]:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = list(project["dependencies"]) + [d for deps in project["optional-dependencies"].values() for d in deps]
    return {_norm(re.split(r"[<>=!~\[ ;]", n, maxsplit=1)[0]) for n in names}


def test_every_direct_dependency_is_pinned_in_the_lock():
    missing = sorted(_direct() - set(_lock()))
    assert missing == [], f"pyproject.toml dependencies missing from requirements.lock: {missing}"


def test_environment_yml_lists_the_direct_dependencies_at_the_locked_versions():
    conda, lock = _conda(), _lock()
    conda.pop("python", None)
    assert set(conda) == _direct(), "environment.yml and pyproject.toml list different packages"
    disagree = {n: (conda[n], lock[n]) for n in conda if conda[n] != lock[n]}
    assert disagree == {}, f"environment.yml vs requirements.lock (conda, lock): {disagree}"
