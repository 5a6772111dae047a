"""uv.lock is what every install uses (`make install`, CI, the container image): it must say what pyproject.toml
says. A dependency added to pyproject.toml without `make lock` would otherwise be missing from every install and
only show up as an ImportError in production."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]

Key = tuple[str, tuple[str, ...], str]
"""(normalised name, extras, the optional-dependency group or "" for the runtime ones)"""


def _pyproject_requirements(pyproject: dict) -> dict[Key, SpecifierSet]:
    project = pyproject["project"]
    groups = [("", project.get("dependencies", []))]
    groups += sorted(project.get("optional-dependencies", {}).items())
    found: dict[Key, SpecifierSet] = {}
    for group, lines in groups:
        for line in lines:
            req = Requirement(line)
            found[(canonicalize_name(req.name), tuple(sorted(req.extras)), group)] = req.specifier
    return found


def _locked_requirements(lock: dict, project_name: str) -> dict[Key, SpecifierSet]:
    (root,) = [p for p in lock["package"] if p["name"] == project_name]
    found: dict[Key, SpecifierSet] = {}
    for entry in root["metadata"]["requires-dist"]:
        marker = entry.get("marker", "")
        group = marker.removeprefix("extra == '").removesuffix("'") if marker.startswith("extra == ") else ""
        key = (canonicalize_name(entry["name"]), tuple(sorted(entry.get("extras", []))), group)
        found[key] = SpecifierSet(entry.get("specifier", ""))
    return found


def lock_disagreements(pyproject: dict, lock: dict) -> list[str]:
    """Every requirement on which pyproject.toml and uv.lock differ, in words, or nothing."""
    wanted = _pyproject_requirements(pyproject)
    locked = _locked_requirements(lock, canonicalize_name(pyproject["project"]["name"]))
    problems = []
    for key in sorted(wanted.keys() | locked.keys()):
        name, extras, group = key
        label = name + (f"[{','.join(extras)}]" if extras else "") + (f" (extra '{group}')" if group else "")
        if key not in locked:
            problems.append(f"{label}{wanted[key]} is in pyproject.toml but not in uv.lock")
        elif key not in wanted:
            problems.append(f"{label} is in uv.lock but no longer in pyproject.toml")
        elif wanted[key] != locked[key]:
            problems.append(f"{label}: pyproject.toml says '{wanted[key]}', uv.lock was resolved for '{locked[key]}'")
    pinned = {canonicalize_name(p["name"]) for p in lock["package"]}
    problems += [
        f"{name} is required but uv.lock pins no version of it" for name, _, _ in sorted(wanted) if name not in pinned
    ]
    return problems


def _load() -> tuple[dict, dict]:
    return (
        tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8")),
        tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8")),
    )


def test_uv_lock_was_resolved_from_the_current_pyproject() -> None:
    problems = lock_disagreements(*_load())
    assert not problems, "pyproject.toml and uv.lock disagree; run `make lock`:\n  " + "\n  ".join(problems)


def test_lock_pins_every_package_to_one_version_with_hashes() -> None:
    """The reproducibility promise itself: a download that does not match the recorded hash is refused."""
    _, lock = _load()
    for package in lock["package"]:
        if "registry" not in package["source"]:
            continue
        artifacts = package.get("wheels", []) + ([package["sdist"]] if "sdist" in package else [])
        assert package.get("version"), package["name"]
        assert artifacts and all(a["hash"].startswith("sha256:") for a in artifacts), package["name"]


def _name(line: str) -> str:
    return canonicalize_name(Requirement(line).name)


def test_each_kind_of_drift_is_named() -> None:
    pyproject, lock = _load()
    before = lock_disagreements(pyproject, lock)
    runtime = pyproject["project"]["dependencies"]
    first, last = _name(runtime[0]), _name(runtime[-1])
    was = str(Requirement(runtime[0]).specifier)
    runtime[0] = f"{first}>=999"
    runtime[-1] = "holidays-not-locked>=0.60"
    pyproject["project"]["optional-dependencies"]["dev"].append("playwright-not-locked>=1.45")

    problems = set(lock_disagreements(pyproject, lock)) - set(before)

    assert problems == {
        "holidays-not-locked>=0.60 is in pyproject.toml but not in uv.lock",
        "holidays-not-locked is required but uv.lock pins no version of it",
        "playwright-not-locked (extra 'dev')>=1.45 is in pyproject.toml but not in uv.lock",
        "playwright-not-locked is required but uv.lock pins no version of it",
        f"{last} is in uv.lock but no longer in pyproject.toml",
        f"{first}: pyproject.toml says '>=999', uv.lock was resolved for '{was}'",
    }
