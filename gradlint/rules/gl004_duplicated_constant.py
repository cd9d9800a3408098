"""GL004 duplicated-constant (a project rule: facts per file, one reduce)."""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from typing import Any

from gradlint.context import FileInfo
from gradlint.findings import Finding
from gradlint.options import RUNTIME_MODULE_OPTION
from gradlint.rule import Invalid, Option, Rule, Valid
from gradlint.rules._constant_facts import TEXT_TRIGGER, collect
from gradlint.rules._constant_groups import (
    DEFAULT_CONSTANTS_MODULE,
    reduce_facts,
    role_words,
)


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
    REDUCER = "gradlint.rules._constant_groups:reduce_facts"
    FIXABLE = True  # across files, by gradlint.project_fixes
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
        RUNTIME_MODULE_OPTION,
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
        return collect(text, self._words, self._trigger, tree=tree, package=info.package)

    @classmethod
    def reduce(cls, facts: Mapping[str, list[Any]], settings: Any) -> list[Finding]:
        return reduce_facts(facts, settings)
