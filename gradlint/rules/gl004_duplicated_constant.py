"""GL004 duplicated-constant (a project rule: facts per file, one reduce)."""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from typing import Any

from gradlint.fileinfo import FileInfo
from gradlint.findings import Finding
from gradlint.options import RUNTIME_MODULE_OPTION
from gradlint.rule import Invalid, Option, Rule, Valid
from gradlint.rules._constant_facts import TEXT_TRIGGER, collect, lower_case_trigger
from gradlint.rules._constant_groups import (
    DEFAULT_CONSTANTS_MODULE,
    reduce_facts,
    role_words,
)


class DuplicatedConstant(Rule):
    """
    ## What it does
    Flags a numeric literal that steers numerical health or training logic (a threshold,
    penalty, epsilon, clip value, coefficient, margin, tolerance, loss weight or factor)
    written out in two or more places of one package instead of being named once, and a
    literal equal to a constant the package already names in the same role. Each finding
    names the other places.

    A literal has a role when it is the default of a parameter, a keyword argument or the
    value of an assignment whose name says so (`clip_coef=0.2`, `eps=1e-6`,
    `LayerNorm(d, eps=1e-6)`), an operand next to such a name, a penalty taken off a score
    (`health -= vanishing_ratio * 0.5` is a "vanishing penalty"), or the bound of a
    comparison (`grad_norm > 100.0` is an "exploding threshold", `ratio > 0.9` a "ratio
    threshold"). Values keep their type: `4` and `4.0` are different constants.

    Places are grouped by value and role within one importable package (the top-level
    package a file belongs to); a file outside any package (a script) is its own scope. A bare
    role word (`eps`, `threshold`, `margin`) groups only places that have a partner in the
    same module or whose function, class or callee shares a word (`triplet_loss` and
    `TripletLoss`): two `eps=1e-6` of unrelated helpers are not one constant.

    Never flagged: configuration surfaces (argument parsers, `dict(...)` and `*Config(...)` /
    `*Args(...)` keyword arguments, fields of dataclass/attrs/config classes and their
    constructors), definitions marked `# Copied from`, defaults of a class that wraps an
    imported concrete class (`class AdamW(torch.optim.AdamW)` restates its defaults), a
    method that overrides a base method with the same default, architecture sizes and ratios
    (`mlp_ratio`, `expansion_factor=4`), structural values (0, 1, -1), a half or a percentage
    in arithmetic, coin flips (`random() > 0.5`), tolerances of assertions, test files (by
    the path inside the project), places in the constants module, a value used once (uses
    in one statement count once). The same tuning constant re-declared in several modules is
    reported. A place with `# noqa: GL004` does not count.

    ## Why is this bad
    Tuning constants written out in several places drift apart silently: someone changes
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
    Unsafe (`--unsafe-fixes`): values that are equal by accident would be tied together. The
    fix never changes behaviour beyond naming: the constant keeps the literal's type and
    spelling; when every place is in one module it is defined in that module after the
    imports, otherwise it is added to the package's constants module (created if missing)
    and imported where isort would put it. Names come from the places (`clip_coef` ->
    `CLIP_COEF`, `LayerNorm(eps=...)` -> `LAYER_NORM_EPS`) and are unique: a group without a
    free meaningful name is reported without a fix, as is a group whose name a file already
    uses for something else. When value and role match a constant of the runtime
    (`VANISHING_THRESHOLD = 1e-7`, `EXPLODING_THRESHOLD = 100.0`,
    `VANISHING_HEALTH_PENALTY = 0.5`, `EXPLODING_HEALTH_PENALTY = 0.8`) and the project
    declares gradlint-runtime, that one is imported instead. The fix touches several files
    and is all-or-nothing.

    ## Options
    - `constants-module`: dotted module that holds the constants, resolved against the
      project directory (`a/b.py`, then `src/a/b.py`; a module at the project root works).
      Default `{package}.constants`: the `constants.py` of the package of the places.
    - `use-runtime-constants`: import the runtime's constant when value and role match one
      and the project declares gradlint-runtime (default true).
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
        # `4` and `4.0` are different constants.
        Valid("def a(x, clip_value=4):\n    pass\ndef b(x, clip_value=4.0):\n    pass\n"),
        # Architecture sizes and ratios are not tuning constants.
        Valid(
            "class Block(nn.Module):\n    def __init__(self, dim, mlp_ratio=4.0, expansion_factor=4):\n        pass\n"
            "class Stage(nn.Module):\n    def __init__(self, dim, mlp_ratio=4.0, expansion_factor=4):\n        pass\n"
        ),
        # Configuration surfaces.
        Valid(
            "parser.add_argument('--clip-coef', type=float, default=0.2)\n"
            "other.add_argument('--clip-coef', type=float, default=0.2)\n"
        ),
        Valid(
            "@dataclass\nclass LossConfig:\n    clip_coef: float = 0.2\n"
            "@dataclass\nclass PolicyConfig:\n    clip_coef: float = 0.2\n"
        ),
        Valid(
            "class TrainerConfig(BaseConfig):\n    def __init__(self, norm_eps=1e-5):\n        pass\n"
            "class ModelConfig(BaseConfig):\n    def __init__(self, norm_eps=1e-5):\n        pass\n"
        ),
        Valid("opt = OptimizerArgs(weight_decay=0.01)\nsched = SchedulerArgs(weight_decay=0.01)\n"),
        Valid("norm = dict(type='LN', eps=1e-6)\nhead = dict(type='LN', eps=1e-6)\n"),
        # Copies marked as such, and wrappers that restate an imported class's defaults.
        Valid(
            "def a(x, clip_coef=0.2):\n    pass\n# Copied from other.module.a\n"
            "def b(x, clip_coef=0.2):\n    pass\n"
        ),
        Valid(
            "import torch\nclass Adam(torch.optim.Adam):\n    def __init__(self, params, eps=1e-8):\n        pass\n"
            "class AdamW(torch.optim.AdamW):\n    def __init__(self, params, eps=1e-8):\n        pass\n"
        ),
        # A percentage conversion, a coin flip, a composed value, assertion tolerances.
        Valid("a = int(0.01 * split_ratio[0] * n)\nb = int(0.01 * split_ratio[1] * n)\n"),
        Valid("if random.random() > 0.5:\n    a()\nif random.random() > 0.5:\n    b()\n"),
        Valid("low = value * (0.5 + epsilon)\nhigh = value / (0.5 + epsilon)\n"),
        Valid("assert torch.allclose(a, b, atol=1e-6)\nassert torch.allclose(c, d, atol=1e-6)\n"),
        Valid("check_close(a, b, rtol=1e-4)\ncheck_close(c, d, rtol=1e-4)\n"),
        # Formatting widths and sample rates are not tuning values.
        Valid("a = tree.pformat(margin=1000000)\nb = tree.pformat(margin=1000000)\n"),
        Valid("if torch_version >= 2.1:\n    a()\nif torch_version >= 2.1:\n    b()\n"),
        # One setting per case of an if/elif chain is not a copy.
        Valid(
            "if dataset == 'a':\n    reward_threshold = 0.1\nelif dataset == 'b':\n    reward_threshold = 0.5\n"
            "else:\n    reward_threshold = 0.1\n"
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
            message="(vanishing threshold) is repeated in 2 places",
            count=2,
        ),
        Invalid(
            "def a(x, clip_coef=0.2):\n    pass\ndef b(x, clip_coef=0.2):\n    pass\n",
            line=1,
            column=20,
            message="name it once as `CLIP_COEF` in this module",
            count=2,
        ),
        # A bare tuning name repeated in one module.
        Invalid(
            "def triplet(a, b, margin=0.35):\n    pass\ndef contrastive(a, b, margin=0.35):\n    pass\n",
            message="`0.35` (margin) is repeated in 2 places",
            count=2,
        ),
        # Keyword arguments at call sites, named after the callee.
        Invalid(
            "a = adjust(img, brightness_factor=0.7)\nb = adjust(img, brightness_factor=0.7)\n",
            message="`0.7` (brightness factor) is repeated in 2 places",
            count=2,
        ),
        # Two calls in one statement are two places.
        Invalid(
            "opt = group(Adam(actor, eps=1e-5), Adam(critic, eps=1e-5))\n",
            message="name it once as `ADAM_EPS` in this module",
            count=2,
        ),
        # A subclass of an imported base class that is not an optimizer, scheduler or norm layer.
        Invalid(
            "from tensorlib import ModuleBase\n"
            "class Greedy(ModuleBase):\n    def __init__(self, eps_end=0.1):\n        pass\n"
            "class GreedyWrapper(ModuleBase):\n    def __init__(self, eps_end=0.1):\n        pass\n",
            count=2,
        ),
        Invalid(
            "n1 = LayerNorm(d, eps=1e-6)\nn2 = partial(nn.LayerNorm, eps=1e-6)\n",
            message="name it once as `LAYER_NORM_EPS` in this module",
            count=2,
        ),
        # The same threshold in two comparisons of one module.
        Invalid(
            "def a(ratio):\n    if ratio > 0.9:\n        warn()\ndef b(ratio):\n    return ratio > 0.9\n",
            message="`0.9` (ratio threshold) is repeated in 2 places",
            count=2,
        ),
        # A tiny bound on a norm is a vanishing threshold, named after what is compared.
        Invalid(
            "def a(norm):\n    return norm > 1e-12\ndef b(norm):\n    return norm > 1e-12\n",
            message="`1e-12` (vanishing threshold) is repeated in 2 places; also at example.py:4; name it once as `NORM_VANISHING_THRESHOLD`",
            count=2,
        ),
        # A literal equal to a constant this module already names.
        Invalid(
            "DEAD_RATIO_THRESHOLD = 0.9\ndef a(dead_ratio):\n    return dead_ratio > 0.9\n",
            line=3,
            message="`0.9` (dead ratio threshold) is already named: use `DEAD_RATIO_THRESHOLD`",
        ),
        # A local `EPS = ...` in two functions: a module-level `EPS` would be shadowed there.
        Invalid(
            "def a(x):\n    EPS = 1e-8\n    return x + EPS\ndef b(x):\n    EPS = 1e-8\n    return x - EPS\n",
            message="name it once (no unique name to suggest)",
            count=2,
        ),
        # `-1.0` is a threshold when its name says so.
        Invalid(
            "def a(x, logprob_threshold=-1.0):\n    pass\ndef b(x, logprob_threshold=-1.0):\n    pass\n",
            count=2,
        ),
        Invalid(
            "def test_a(x, atol_threshold=1e-5):\n    pass\ndef test_b(y, atol_threshold=1e-5):\n    pass\n",
            path="tests/test_norms.py",
            options={"include-tests": True},
            count=2,
        ),
        Invalid(
            "if loss_gap > 1e-3:\n    pass\nif loss_gap > 1e-3:\n    pass\n",
            options={"extra-role-words": ["gap"]},
            count=2,
        ),
    )

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        self._words = role_words(self.options)
        extra = self.options["extra-role-words"]
        self._extra_hot_words = tuple(extra or ())
        if extra:
            # This instance also accepts files that only mention the extra words.
            lowered = lower_case_trigger("|".join([TEXT_TRIGGER.pattern, *map(re.escape, extra)]))
            self.may_match = lambda text: lowered.search(text.lower()) is not None  # type: ignore[method-assign]

    @classmethod
    def may_match(cls, text: str) -> bool:
        # The lower-cased text against the lower-case pattern: three times faster than
        # IGNORECASE, which folds every character it compares.
        return lower_case_trigger(TEXT_TRIGGER.pattern).search(text.lower()) is not None

    def wants_file(self, info: FileInfo) -> bool:
        return bool(self.options["include-tests"]) or not info.is_test_file

    def facts_from_source(
        self, text: str, info: FileInfo, tree: ast.Module | None = None
    ) -> list[dict[str, Any]] | None:
        """The engine calls this instead of a libcst pass: facts come from the stdlib ``ast``
        tree it already parsed (``None`` when the text does not parse)."""
        return collect(text, self._words, self._extra_hot_words, tree=tree, package=info.package)

    @classmethod
    def reduce(cls, facts: Mapping[str, list[Any]], settings: Any) -> list[Finding]:
        return reduce_facts(facts, settings)
