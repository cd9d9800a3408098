"""GL004's reduce step: group per-file constant facts across a project (no libcst here).

Kept apart from the rule class so that a run served from the cache can reduce the cached
facts without importing libcst; ``gradlint.project_fixes`` shares the grouping.
"""

from __future__ import annotations

import functools
import os
import re
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gradlint.fileinfo import describe_file
from gradlint.findings import Finding, FixInfo, Location
from gradlint.registry import meta_by_code
from gradlint.rules._constant_facts import ROLE_WORDS

CODE = "GL004"
# (value key, role) -> name in ``<runtime-module>.constants``.
RUNTIME_CONSTANTS: dict[tuple[str, str], str] = {
    (repr(1e-7), "vanishing threshold"): "VANISHING_THRESHOLD",
    (repr(100.0), "exploding threshold"): "EXPLODING_THRESHOLD",
    (repr(0.5), "vanishing penalty"): "VANISHING_HEALTH_PENALTY",
    (repr(0.8), "exploding penalty"): "EXPLODING_HEALTH_PENALTY",
}
_PROJECT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg")
DEFAULT_CONSTANTS_MODULE = "{package}.constants"



def reduce_facts(facts: Mapping[str, list[Any]], settings: Any) -> list[Finding]:
    """Group equal (value, role) facts across files and report every place of each group."""
    findings = []
    for group in duplicate_groups(facts, settings):
        common = os.path.commonpath([os.path.dirname(os.path.abspath(p.path)) for p in group.places])
        for place in group.places:
            others = [p for p in group.places if p is not place]
            also = ", ".join(
                f"{short_path(p.path, place.path, common)}:{p.fact['l']}" for p in others
            )
            target = f"`{group.module}.{group.constant}`"
            verb = "import" if group.runtime else "name it once as"
            message = (
                f"`{place.fact['t']}` ({group.role}) is repeated in {len(group.places)} places; "
                f"also at {also}; {verb} {target}"
            )
            fact = place.fact
            findings.append(
                Finding(
                    path=place.path,
                    code=CODE,
                    message=message,
                    location=Location(fact["l"], fact["c"]),
                    end_location=Location(fact["el"], fact["ec"]),
                    fix=FixInfo("unsafe", f"Use {target}"),
                    noqa_row=fact["s"],
                )
            )
    return findings


# -- grouping (shared with gradlint.project_fixes) -------------------------------------------


def rule_options(settings: Any) -> dict[str, Any]:
    given = getattr(settings, "options", {}) or {}
    meta = meta_by_code(CODE)
    assert meta is not None
    return {option.name: given.get(option.name, option.default) for option in meta.options}


def role_words(options: Mapping[str, Any]) -> dict[str, str]:
    extra = options.get("extra-role-words") or []
    if not extra:
        return ROLE_WORDS
    return {**ROLE_WORDS, **{word.lower(): word.lower() for word in extra}}


@dataclass(slots=True)
class Place:
    path: str
    fact: dict[str, Any]


@dataclass(slots=True)
class Group:
    """Equal (value, role) literals of one project, with the constant that should replace them."""

    value: str
    role: str
    project: str
    places: list[Place] = field(default_factory=list)
    constant: str = ""
    module: str = ""
    runtime: bool = False


@functools.lru_cache(maxsize=4096)
def project_dir(directory: str) -> str:
    """The nearest directory at or above ``directory`` with a project marker ('' if none)."""
    current = directory
    while True:
        if any(os.path.isfile(os.path.join(current, marker)) for marker in _PROJECT_MARKERS):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return ""
        current = parent


def short_path(path: str, beside: str, common: str) -> str:
    """How a place is named in another place's message: the file name when in the same
    folder, else the path below the folder common to the whole group."""
    if os.path.dirname(os.path.abspath(path)) == os.path.dirname(os.path.abspath(beside)):
        return os.path.basename(path)
    return os.path.relpath(os.path.abspath(path), common).replace(os.sep, "/")


def constants_module_name(options: Mapping[str, Any], path: str) -> str:
    module = options["constants-module"]
    if "{package}" in module:
        package = describe_file(path).package
        module = module.replace("{package}", package) if package else module.replace("{package}.", "")
    return module


def constants_module_path(module: str, project: str) -> str:
    """Where a dotted module lives in a project: ``a/b.py``, ``src/a/b.py`` or a package."""
    parts = module.split(".")
    candidates = []
    for base in (project, os.path.join(project, "src")):
        candidates.append(os.path.join(base, *parts) + ".py")
        candidates.append(os.path.join(base, *parts, "__init__.py"))
    for candidate in candidates:
        if os.path.isfile(candidate):
            return candidate
    for candidate in candidates[::2]:
        if os.path.isdir(os.path.dirname(candidate)):
            return candidate
    return candidates[0]


def _ancestors(klass: str, bases_of: Mapping[str, list[str]]) -> set[str]:
    seen: set[str] = set()
    stack = list(bases_of.get(klass, []))
    while stack:
        name = stack.pop()
        if name not in seen:
            seen.add(name)
            stack.extend(bases_of.get(name, []))
    return seen


def _constant_name(group: Group) -> str:
    hints = Counter(place.fact["h"] for place in group.places if place.fact["k"] != "const")
    ids = Counter(place.fact.get("id") for place in group.places if place.fact["k"] == "const")
    if ids:
        return sorted(ids.items(), key=lambda item: (-item[1], item[0]))[0][0]
    hint = sorted(hints.items(), key=lambda item: (-item[1], item[0]))[0][0] if hints else ""
    name = re.sub(r"[^A-Za-z0-9_]", "_", hint).upper().strip("_") or "TUNING_CONSTANT"
    return f"C_{name}" if name[0].isdigit() else name


def duplicate_groups(facts: Mapping[str, list[Any]], settings: Any) -> list[Group]:
    """Every reportable group: two or more places outside the constants module."""
    options = rule_options(settings)
    grouped: dict[tuple[str, str, str], list[Place]] = defaultdict(list)
    bases_of: dict[str, list[str]] = {}
    for path, file_facts in facts.items():
        project = project_dir(os.path.dirname(os.path.abspath(path)))
        for fact in file_facts:
            method = fact.get("m")
            if method:
                # Classes are known by name only: same-named classes pool their bases
                # (``cuda.amp.GradScaler(amp.GradScaler)`` then overrides itself).
                known = bases_of.setdefault(method[0], [])
                known.extend(base for base in method[1] if base not in known)
            if fact.get("q"):
                continue
            grouped[(project, fact["v"], fact["r"])].append(Place(path, fact))
    groups = []
    constants_paths: dict[tuple[str, str], str] = {}
    for (project, value, role), places in sorted(grouped.items()):
        if len(places) < 2:
            continue
        places = _without_mirrors(places, bases_of)
        module = constants_module_name(options, places[0].path) if places else ""
        key = (project, module)
        if key not in constants_paths:
            constants_paths[key] = os.path.abspath(
                constants_module_path(module, project or os.path.abspath(getattr(settings, "root", ".")))
            )
        home = constants_paths[key]
        places = [place for place in places if os.path.abspath(place.path) != home]
        consts = [place for place in places if place.fact["k"] == "const"]
        if len(consts) < 2:
            places = [place for place in places if place.fact["k"] != "const"]
        if len({(place.path, place.fact["s"]) for place in places}) < 2:
            continue
        places.sort(key=lambda place: (place.path, place.fact["l"], place.fact["c"]))
        group = Group(value, role, project, places)
        runtime_name = RUNTIME_CONSTANTS.get((value, role))
        if runtime_name and options["use-runtime-constants"]:
            group.constant, group.module, group.runtime = (
                runtime_name, f"{options['runtime-module']}.constants", True,
            )
        else:
            group.constant, group.module = _constant_name(group), module
        groups.append(group)
    return groups


def _without_mirrors(places: list[Place], bases_of: Mapping[str, list[str]]) -> list[Place]:
    """Drop defaults of methods that override a base method with the same parameter default."""
    defined = {
        (place.fact["m"][0], place.fact["m"][2], place.fact["m"][3])
        for place in places
        if place.fact.get("m")
    }
    kept = []
    for place in places:
        method = place.fact.get("m")
        if method and any(
            (ancestor, method[2], method[3]) in defined for ancestor in _ancestors(method[0], bases_of)
        ):
            continue
        kept.append(place)
    return kept
