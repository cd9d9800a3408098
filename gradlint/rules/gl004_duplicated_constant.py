"""GL004 duplicated-constant (a project rule: facts per file, one reduce)."""

from __future__ import annotations

import ast

import functools
import os
import re
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gradlint.context import FileInfo, describe_file
from gradlint.findings import Finding, FixInfo, Location
from gradlint.rule import Invalid, Option, Rule, Valid
from gradlint.rules._constant_facts import ROLE_WORDS, TEXT_TRIGGER, collect

# (value key, role) -> name in ``<runtime-module>.constants``.
RUNTIME_CONSTANTS: dict[tuple[str, str], str] = {
    (repr(1e-7), "vanishing threshold"): "VANISHING_THRESHOLD",
    (repr(100.0), "exploding threshold"): "EXPLODING_THRESHOLD",
    (repr(0.5), "vanishing penalty"): "VANISHING_HEALTH_PENALTY",
    (repr(0.8), "exploding penalty"): "EXPLODING_HEALTH_PENALTY",
}
_PROJECT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg")
DEFAULT_CONSTANTS_MODULE = "{package}.constants"


class DuplicatedConstant(Rule):
    """
    ## What it does
    Flags a numeric literal that is used in the same tuning role (a penalty, threshold,
    coefficient, epsilon, weight, ratio, clip, scale, margin or factor) in two or more
    places of the project, instead of being named once. Each finding names the other places.

    A literal has a tuning role when it is an operand next to a name that says so
    (`health -= vanishing_ratio * 0.5` is a "vanishing penalty"), is compared against a norm,
    gradient or ratio (`grad_norm > 100.0` is an "exploding threshold", `grad_norm < 1e-7` a
    "vanishing threshold"), is the default of such a parameter (`clip_coef=0.2`), or is
    assigned to such a name. Literals are grouped by value and role across every checked
    file of one project (the nearest directory with a `pyproject.toml`, `setup.py` or
    `setup.cfg`).

    Never flagged: structural values (0, 1, -1, 2), a half (`* 0.5`) or a percentage
    (`* 100`) in arithmetic, the same value in different roles, a value used once (uses in
    one statement count once, e.g. a symmetric clip range), `UPPER_CASE` module constants
    defined once, places in the constants module itself, test files (by default), keyword
    arguments of calls, and a parameter default of a method that overrides a base-class
    method with the same default. The same `UPPER_CASE` constant re-declared with the same
    value in several modules is reported. A place with `# noqa: GL004` does not count.

    ## Why is this bad
    Tuning constants written out in several modules drift apart silently: someone changes
    the penalty in the collector and not in the monitor, and both still run.

    ## Example
    ```python
    # collectors.py
    health -= vanishing_ratio * 0.5
    # monitor.py
    score -= vanishing_ratio * 0.5
    ```

    ## Use instead
    ```python
    # constants.py
    VANISHING_HEALTH_PENALTY = 0.5
    # collectors.py
    from telemetry.constants import VANISHING_HEALTH_PENALTY
    health -= vanishing_ratio * VANISHING_HEALTH_PENALTY
    ```

    ## Fix safety
    Unsafe (`--unsafe-fixes`): the fix adds one named constant to the constants module
    (created if missing) and replaces every place with the name, adding imports; a value that
    was deliberately equal only by accident would be tied together. When value and role match
    a constant of the runtime (`gradlint_runtime.constants.VANISHING_THRESHOLD = 1e-7`,
    `EXPLODING_THRESHOLD = 100.0`, `VANISHING_HEALTH_PENALTY = 0.5`,
    `EXPLODING_HEALTH_PENALTY = 0.8`) that one is imported instead. The fix touches several
    files and is all-or-nothing: if any rewritten file would not parse, none is written.

    ## Options
    - `constants-module`: dotted module that holds the constants, resolved against the
      project directory (`a/b.py`, then `src/a/b.py`). Default `{package}.constants`:
      `{package}` is the top-level package of the first duplicated place (plain `constants`
      for files outside a package).
    - `use-runtime-constants`: import the runtime's constant when value and role match one
      (default true).
    - `runtime-module`: the module fixes import runtime helpers from (default
      `gradlint_runtime`).
    - `include-tests`: also collect literals in test files (default false: test tolerances
      are the largest source of noise).
    - `extra-role-words`: more name words that give a literal a tuning role (e.g. `["tol"]`).
    """

    code = "GL004"
    name = "duplicated-constant"
    summary = "The same tuning constant is written out in several places"
    PROJECT = True
    OPTIONS = (
        Option(
            "constants-module",
            default=DEFAULT_CONSTANTS_MODULE,
            doc="Dotted module that holds tuning constants ({package} = top-level package).",
        ),
        Option(
            "use-runtime-constants",
            default=True,
            doc="Import the runtime's constant when value and role match one.",
            kind=bool,
        ),
        Option(
            "runtime-module",
            default="gradlint_runtime",
            doc="Module that fixes import runtime helpers from.",
        ),
        Option(
            "include-tests",
            default=False,
            doc="Also collect duplicated literals in test files.",
            kind=bool,
        ),
        Option(
            "extra-role-words",
            default=[],
            doc="More name words that give a literal a tuning role.",
            kind=list,
            item_kind=str,
        ),
    )

    VALID = (
        Valid("health -= vanishing_ratio * 0.5\n"),
        Valid("health -= vanishing_ratio * 0.5\nhealth -= exploding_ratio * 0.8\n"),
        Valid("a = x * 0.5 * scale_a\nb = y * 0.5 * scale_b\n"),
        Valid("def gelu(x, scale=1.0):\n    return 0.5 * x * (1 + tanh(x * scale))\n"),
        Valid("pct = dead_ratio * 100\nshare = alive_ratio * 100.0\n"),
        Valid("if grad_norm > 100.0:\n    warn()\nif loss_weight > 100.0:\n    warn()\n"),
        Valid("VANISHING_THRESHOLD = 1e-7\nif grad_norm < VANISHING_THRESHOLD:\n    warn()\n"),
        Valid("x = torch.clamp(x, -clip_value * 5.0, clip_value * 5.0)\n"),
        Valid("def clip(x, min_clip=-5.0, max_clip=5.0):\n    return x\n"),
        Valid("if grad_norm > 0:\n    a = ratio * 2\n    b = ratio * 2\n"),
        Valid(
            "class Base:\n    def collect(self, eps=1e-8):\n        pass\n"
            "class Child(Base):\n    def collect(self, eps=1e-8):\n        pass\n"
        ),
        Valid(
            "if grad_norm < 1e-7:\n    warn()\nif grad_norm < 1e-7:  # noqa: GL004\n    warn()\n"
        ),
        Valid(
            "def test_a(x, atol_threshold=1e-5):\n    pass\ndef test_b(y, atol_threshold=1e-5):\n    pass\n",
            path="tests/test_norms.py",
        ),
    )
    INVALID = (
        Invalid(
            "health -= vanishing_ratio * 0.5\nscore -= vanishing_ratio * 0.5\n",
            line=1,
            column=29,
            message="`0.5` (vanishing penalty) is repeated in 2 places; also at example.py:2",
            count=2,
        ),
        Invalid(
            "def check(grad_norm):\n"
            "    if grad_norm < 1e-7:\n"
            "        return 'vanishing'\n"
            "def collect(total_norm, vanishing_threshold=1e-7):\n"
            "    return total_norm < vanishing_threshold\n",
            line=2,
            message="gradlint_runtime.constants",
            count=2,
        ),
        Invalid(
            "CLIP_COEF = 0.2\nclass A:\n    CLIP_COEF = 0.2\n",
            count=2,
            message="name it once as `constants.CLIP_COEF`",
        ),
        Invalid(
            "def a(x, clip_coef=0.2):\n    pass\ndef b(x, clip_coef=0.2):\n    pass\n",
            line=1,
            column=20,
            count=2,
        ),
        Invalid(
            "def test_a(x, atol_threshold=1e-5):\n    pass\ndef test_b(y, atol_threshold=1e-5):\n    pass\n",
            path="tests/test_norms.py",
            options={"include-tests": True},
            count=2,
        ),
        Invalid(
            "if loss_tol > 1e-3:\n    pass\nif loss_tol > 1e-3:\n    pass\n",
            options={"extra-role-words": ["tol"]},
            count=2,
        ),
    )

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        self._words = role_words(self.options)
        self._trigger = TEXT_TRIGGER
        extra = self.options["extra-role-words"]
        if extra:
            self._trigger = re.compile(
                "|".join([TEXT_TRIGGER.pattern, *map(re.escape, extra)]), re.IGNORECASE
            )
            # This instance also accepts files that only mention the extra words.
            self.may_match = lambda text: self._trigger.search(text) is not None  # type: ignore[method-assign]

    @classmethod
    def may_match(cls, text: str) -> bool:
        return TEXT_TRIGGER.search(text) is not None

    def wants_file(self, info: FileInfo) -> bool:
        return bool(self.options["include-tests"]) or not info.is_test_file

    def facts_from_source(
        self, text: str, info: FileInfo, tree: ast.Module | None = None
    ) -> list[dict[str, Any]] | None:
        """The engine calls this instead of a libcst pass: facts come from the stdlib ``ast``
        tree it already parsed (``None`` when the text does not parse)."""
        return collect(text, self._words, self._trigger, tree=tree)

    @classmethod
    def reduce(cls, facts: Mapping[str, list[Any]], settings: Any) -> list[Finding]:
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
                        code=cls.code,
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
    return {option.name: given.get(option.name, option.default) for option in DuplicatedConstant.OPTIONS}


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
