"""GL004's reduce step: group per-file constant facts across a package (no libcst here).

Kept apart from the rule class so that a run served from the cache can reduce the cached
facts without importing libcst; ``gradlint.project_fixes`` shares the grouping.

Scope: literals are compared inside one importable package (the top-level package a file
belongs to, within one project); a file outside any package (a script) is its own scope.
A group is one (value with its type, role) in one scope. Each group gets the constant that
replaces it: an existing one (``already named``), a runtime one, or a new one, defined in
the module itself when every place is in one module, else in the package's constants module.
"""

from __future__ import annotations

import ast
import functools
import keyword
import os
import re
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gradlint.fileinfo import describe_file, project_root
from gradlint.findings import Finding, FixInfo, Location
from gradlint.registry import meta_by_code
from gradlint.rules._constant_facts import ROLE_WORDS, name_tokens, role_of

CODE = "GL004"
# (value key, role) -> name in ``<runtime-module>.constants``.
RUNTIME_CONSTANTS: dict[tuple[str, str], str] = {
    (repr(1e-7), "vanishing threshold"): "VANISHING_THRESHOLD",
    (repr(100.0), "exploding threshold"): "EXPLODING_THRESHOLD",
    (repr(0.5), "vanishing penalty"): "VANISHING_HEALTH_PENALTY",
    (repr(0.8), "exploding penalty"): "EXPLODING_HEALTH_PENALTY",
}
_DEPENDENCY_FILES = ("pyproject.toml", "setup.py", "setup.cfg", "requirements.txt")
DEFAULT_CONSTANTS_MODULE = "{package}.constants"
# Modules that are a package's home of named constants.
CONSTANTS_MODULE_NAMES = frozenset({"constants", "consts", "_constants", "constant"})
_SHOWN = 3  # other places named in a message


def reduce_facts(facts: Mapping[str, list[Any]], settings: Any) -> list[Finding]:
    """Group equal (value, role) facts of a package and report every place of each group."""
    findings = []
    for group in duplicate_groups(facts, settings):
        target = group.target()
        fixable = bool(group.constant)
        for place in group.places:
            fact = place.fact
            if group.named:
                message = f"`{fact['t']}` ({group.role}) is already named: use {target}"
            else:
                others = [p for p in group.places if p is not place]
                shown = ", ".join(f"{short_path(p.path, place.path)}:{p.fact['l']}" for p in others[:_SHOWN])
                if len(others) > _SHOWN:
                    shown += f" and {len(others) - _SHOWN} more"
                how = (
                    f"import {target}" if group.runtime
                    else f"name it once as {target}" if fixable
                    else "name it once (no unique name to suggest)"
                )
                message = f"`{fact['t']}` ({group.role}) is repeated in {len(group.places)} places; also at {shown}; {how}"
            findings.append(
                Finding(
                    path=place.path,
                    code=CODE,
                    message=message,
                    location=Location(fact["l"], fact["c"]),
                    end_location=Location(fact["el"], fact["ec"]),
                    fix=FixInfo("unsafe", f"Use {target}") if fixable else None,
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
    """Equal (value, role) literals of one scope, with the constant that should replace them.

    ``home`` is the file that defines (or will define) the constant; ``local`` when that is
    the file of every place (no import); ``named`` when the constant exists already."""

    value: str
    role: str
    project: str
    scope: str
    places: list[Place] = field(default_factory=list)
    constant: str = ""
    module: str = ""
    home: str = ""
    runtime: bool = False
    named: bool = False
    local: bool = False

    def target(self) -> str:
        if self.local:
            return f"`{self.constant}`" if self.named else f"`{self.constant}` in this module"
        return f"`{self.module}.{self.constant}`"


project_dir = project_root  # the nearest directory with a project marker


@functools.lru_cache(maxsize=256)
def declares_runtime(project: str) -> bool:
    """Whether the project lists gradlint-runtime among its dependency files."""
    if not project:
        return False
    for name in _DEPENDENCY_FILES:
        try:
            with open(os.path.join(project, name), encoding="utf-8", errors="replace") as stream:
                text = stream.read(200_000)
        except OSError:
            continue
        if re.search(r"gradlint[-_]runtime", text, re.IGNORECASE):
            return True
    return False


@functools.lru_cache(maxsize=4096)
def package_dir(directory: str) -> str:
    """The directory of the top-level package that ``directory`` belongs to."""
    current = directory
    while os.path.isfile(os.path.join(os.path.dirname(current), "__init__.py")):
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    return current


def short_path(path: str, beside: str) -> str:
    """How a place is named in another place's message: the file name when in the same
    folder, else the path relative to the other place's folder's package root."""
    folder = os.path.dirname(os.path.abspath(beside))
    if os.path.dirname(os.path.abspath(path)) == folder:
        return os.path.basename(path)
    base = os.path.dirname(package_dir(folder)) if os.path.isfile(os.path.join(folder, "__init__.py")) else folder
    relative = os.path.relpath(os.path.abspath(path), base)
    return relative.replace(os.sep, "/")


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


def _home(options: Mapping[str, Any], path: str, project: str, root: str) -> tuple[str, str]:
    """(dotted module, absolute file) of the constants module for ``path``'s package."""
    module = constants_module_name(options, path)
    package = describe_file(path).package
    if options["constants-module"] == DEFAULT_CONSTANTS_MODULE and package:
        top = package_dir(os.path.dirname(os.path.abspath(path)))
        for candidate in (os.path.join(top, "constants.py"), os.path.join(top, "constants", "__init__.py")):
            if os.path.isfile(candidate):
                return module, candidate
        return module, os.path.join(top, "constants.py")
    return module, os.path.abspath(constants_module_path(module, project or root))


def _ancestors(klass: str, bases_of: Mapping[str, list[str]]) -> set[str]:
    seen: set[str] = set()
    stack = list(bases_of.get(klass, []))
    while stack:
        name = stack.pop()
        if name not in seen:
            seen.add(name)
            stack.extend(bases_of.get(name, []))
    return seen


def _identifier(hint: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_]", "_", hint).upper().strip("_")
    name = re.sub(r"_+", "_", name)
    if not name or name[0].isdigit() or keyword.iskeyword(name.lower()) or not name.isidentifier():
        return ""
    return name


def _name_candidates(group: Group) -> list[str]:
    """Names for a group, best first: an existing constant's, then the most common hints."""
    ids = Counter(p.fact.get("id") for p in group.places if p.fact["k"] == "const")
    hints = Counter(p.fact["h"] for p in group.places if p.fact["k"] != "const")
    words = Counter(p.fact["w"] for p in group.places if p.fact["k"] != "const")
    # A name the authors already gave the constant is taken as it is.
    names = [name for name, _ in sorted(ids.items(), key=lambda i: (-i[1], i[0])) if name]
    ordered = [h for h, _ in sorted(hints.items(), key=lambda i: (-i[1], i[0]))]
    ordered += [w for w, _ in sorted(words.items(), key=lambda i: (-i[1], i[0]))]
    for hint in ordered:
        name = hint if hint.isupper() and hint.isidentifier() else _identifier(hint)
        if name and role_of(name_tokens(name), ROLE_WORDS) is not None and name not in names:
            names.append(name)
    return names


@functools.lru_cache(maxsize=256)
def _module_names(path: str, stamp: float) -> dict[str, str | None]:
    """Module-level names of an existing file: name -> typed value key (``None`` if not a number)."""
    try:
        with open(path, "rb") as stream:
            tree = ast.parse(stream.read())
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
        return {}
    from gradlint.rules._constant_facts import number

    found: dict[str, str | None] = {}
    for node in tree.body:
        targets: list[ast.expr] = []
        value = None
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign):
            targets, value = [node.target], node.value
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found[node.name] = None
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                found[(alias.asname or alias.name).split(".")[0]] = None
        for target in targets:
            for name in ast.walk(target):
                if isinstance(name, ast.Name):
                    key = number(value) if value is not None else None
                    found[name.id] = key[1] if key else None
    return found


def existing_names(path: str) -> dict[str, str | None]:
    try:
        stamp = os.stat(path).st_mtime
    except OSError:
        return {}
    return _module_names(path, stamp)


def duplicate_groups(facts: Mapping[str, list[Any]], settings: Any) -> list[Group]:
    """Every reportable group: already-named places, and two or more places of one value
    and role in one scope (outside the constants module)."""
    options = rule_options(settings)
    root = os.path.abspath(getattr(settings, "root", "."))
    use_runtime = bool(options["use-runtime-constants"])
    # Set by the config layer from the project's declared requirements (or explicitly).
    available = (getattr(settings, "options", {}) or {}).get("runtime-available")
    bases_of: dict[str, list[str]] = {}
    homes: dict[tuple[str, str], tuple[str, str]] = {}
    # (project, scope, value, role) -> places; named constants by the same key.
    grouped: dict[tuple[str, str, str, str], list[Place]] = defaultdict(list)
    named: dict[tuple[str, str, str, str], tuple[str, str, str]] = {}
    local_named: dict[tuple[str, str, str], tuple[str, int]] = {}
    for path, file_facts in facts.items():
        absolute = os.path.abspath(path)
        info = describe_file(path)
        if info.package:
            # The scope is the package's folder, and its project the one of the package root
            # (a ``setup.py`` inside the package does not split it: one constants module).
            scope = package_dir(os.path.dirname(absolute))
            project = project_dir(os.path.dirname(scope)) or project_dir(os.path.dirname(absolute))
        else:
            scope, project = absolute, project_dir(os.path.dirname(absolute))
        if (project, scope) not in homes:
            homes[(project, scope)] = _home(options, path, project, root)
        module, home = homes[(project, scope)]
        stem = os.path.splitext(os.path.basename(absolute))[0]
        if stem == "__init__":
            stem = os.path.basename(os.path.dirname(absolute))
        is_constants = absolute == home or (info.package is not None and stem in CONSTANTS_MODULE_NAMES)
        dotted = _dotted_module(absolute, info.package) if info.package else ""
        for fact in file_facts:
            method = fact.get("m")
            if method:
                # Classes are known by name only: same-named classes pool their bases.
                known = bases_of.setdefault(method[0], [])
                known.extend(base for base in method[1] if base not in known)
            if fact["k"] == "const":
                if fact["r"] and not fact["id"].startswith("_"):
                    if is_constants and dotted:
                        named.setdefault((project, scope, fact["v"], fact["r"]), (dotted, fact["id"], absolute))
                    local_named.setdefault((absolute, fact["v"], fact["r"]), (fact["id"], fact["l"]))
                if is_constants or not fact["r"]:
                    continue
            elif is_constants:
                continue
            if fact.get("q"):
                continue
            grouped[(project, scope, fact["v"], fact["r"])].append(Place(path, fact))
    groups: list[Group] = []
    singles: dict[tuple[str, str, str, str], list[Place]] = {}
    for key, places in sorted(grouped.items()):
        project, scope, value, role = key
        module, home = homes[(project, scope)]
        # Places equal to a constant that already exists: in the same module, or the package's.
        rest: list[Place] = []
        for place in places:
            fact = place.fact
            absolute = os.path.abspath(place.path)
            # A bare ``eps`` of ``LayerNorm(d, eps=1e-5)`` is also a "layer norm epsilon".
            roles = (role, _hint_role(fact))
            same = next((local_named[k] for r in roles if (k := (absolute, value, r)) in local_named), None)
            package_key = next((k for r in roles if (k := (project, scope, value, r)) in named), None)
            if fact["k"] != "const" and same and same[1] < fact["s"]:
                groups.append(Group(value, role, project, scope, [place], same[0], "", absolute, named=True, local=True))
            elif fact["k"] != "const" and package_key is not None:
                dotted, name, where = named[package_key]
                groups.append(Group(value, role, project, scope, [place], name, dotted, where, named=True))
            else:
                rest.append(place)
        places = _without_mirrors(rest, bases_of)
        consts = [place for place in places if place.fact["k"] == "const"]
        if len(consts) < 2:
            places = [place for place in places if place.fact["k"] != "const"]
        for cluster in _clusters(places) if " " not in role else [places]:
            if len({(place.path, place.fact["s"], place.fact.get("u")) for place in cluster}) < 2:
                for place in cluster:
                    singles.setdefault(key, []).append(place)
                    hinted = _hint_role(place.fact)
                    if hinted and hinted != role:
                        singles.setdefault((project, scope, value, hinted), []).append(place)
                continue
            if _alternatives(cluster):
                continue
            cluster.sort(key=lambda place: (place.path, place.fact["l"], place.fact["c"]))
            group = Group(value, role, project, scope, cluster, module=module, home=home)
            runtime_name = RUNTIME_CONSTANTS.get((value, role))
            if runtime_name and use_runtime and (available if available is not None else declares_runtime(project)):
                group.constant, group.module, group.runtime = runtime_name, f"{options['runtime-module']}.constants", True
            groups.append(group)
    _name_new_constants([g for g in groups if not g.named and not g.runtime], singles)
    return groups


def _dotted_module(absolute: str, package: str) -> str:
    top = package_dir(os.path.dirname(absolute))
    relative = os.path.relpath(absolute, os.path.dirname(top))
    parts = os.path.splitext(relative)[0].split(os.sep)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts) if parts and parts[0] == package else ""


def _name_new_constants(groups: list[Group], singles: Mapping[tuple[str, str, str, str], list[Place]]) -> None:
    """Give each new constant a unique, meaningful name in the module that will hold it;
    a group without one is reported without a fix. Places that the new name would make
    "already named" on the next run join the group now (so a second run changes nothing)."""
    taken: dict[str, dict[str, str]] = defaultdict(dict)  # home -> name -> value key
    joined: set[int] = set()
    for group in groups:
        files = {os.path.abspath(p.path) for p in group.places}
        group.local = len(files) == 1
        if group.local:
            group.home, group.module = files.pop(), ""
        home = group.home
        if home not in taken:
            taken[home] = {name: value or "" for name, value in existing_names(home).items()}
        # ``EPS = 1e-8`` inside a function: a module-level ``EPS`` would be shadowed there.
        assigned = {p.fact["w"] for p in group.places if p.fact["k"] == "assign"}
        for name in _name_candidates(group):
            if name in assigned:
                continue
            existing = taken[home].get(name, "")
            if name in taken[home] and existing != group.value:
                continue
            const_ids = {p.fact.get("id") for p in group.places if p.fact["k"] == "const"}
            if name in taken[home] and group.local and name not in const_ids:
                continue  # a local name of that value exists but is not this group's constant
            group.constant = name
            taken[home][name] = group.value
            break
        if not group.constant:
            continue
        renamed = role_of(name_tokens(group.constant), ROLE_WORDS)
        if renamed and renamed != group.role:
            extra = singles.get((group.project, group.scope, group.value, renamed), [])
            if group.local:
                extra = [p for p in extra if os.path.abspath(p.path) == home]
            extra = [p for p in extra if id(p) not in joined]
            joined.update(id(p) for p in extra)
            if extra:
                group.places.extend(extra)
                group.places.sort(key=lambda place: (place.path, place.fact["l"], place.fact["c"]))


# Context words too common to tie two places together.
_GENERIC_CONTEXT = frozenset({
    "loss", "module", "layer", "block", "base", "init", "forward", "get", "make", "build",
    "compute", "fn", "func", "function", "call", "from", "to", "v1", "v2", "v3", "nn", "torch",
    "model", "net", "network", "default", "new", "create", "apply", "run", "update", "step",
    "norm", "normalization",
})


def _context(fact: dict[str, Any]) -> set[str]:
    """The words of a place's function, class or callee (and that whole name) that can tie
    it to another place: ``LayerNorm`` ties to ``LayerNorm``, ``VecNorm`` to ``VecNormV2``."""
    own = set(name_tokens(fact["w"]))
    words = [t for t in fact["h"].split("_") if t and t not in own]
    found = {t for t in words if t not in _GENERIC_CONTEXT}
    if words:
        found.add("_".join(words))
    return found


def _hint_role(fact: dict[str, Any]) -> str | None:
    """The role of a place's hint (its name with the callee, function or class)."""
    return role_of(fact["h"].split("_"), ROLE_WORDS) if fact["h"] else None


def _alternatives(places: list[Place]) -> bool:
    """Every place assigns the value in a different branch of one ``if``/``elif`` chain."""
    branches = [place.fact.get("b") for place in places]
    if not all(branches) or len({place.path for place in places}) != 1:
        return False
    return len({b[0] for b in branches}) == 1 and len({b[1] for b in branches}) == len(branches)  # type: ignore[index]


def _clusters(places: list[Place]) -> list[list[Place]]:
    """For a bare role (``eps``, ``threshold``), the places that belong together: in the same
    module, or with a context (function, class or callee) sharing a word. Two ``eps=1e-6``
    of unrelated helpers in one package are not one constant, and ``LayerNorm(eps=1e-5)``
    is not ``Adam(eps=1e-5)``."""
    parent = list(range(len(places)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_of: dict[str, int] = {}
    for index, place in enumerate(places):
        for key in ["file:" + os.path.abspath(place.path), *("word:" + w for w in _context(place.fact))]:
            if key in first_of:
                parent[find(index)] = find(first_of[key])
            else:
                first_of[key] = index
    clusters: dict[int, list[Place]] = defaultdict(list)
    for index, place in enumerate(places):
        clusters[find(index)].append(place)
    return list(clusters.values())


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
