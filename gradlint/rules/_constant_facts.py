"""GL004's per-file phase: find numeric literals in a tuning role, with the stdlib ``ast``.

Facts come from the ``ast`` tree the engine already parsed (libcst is used only by the
project-wide fix, on the files it rewrites). One walk over the statements; expressions are
walked only where a line mentions a role word or compares with a number.

A fact is a small JSON object (cacheable per file):

``v`` value key: ``repr`` of the typed value (``4`` and ``4.0`` differ), ``t`` the literal's
exact text, ``r`` role ("vanishing threshold", "epsilon"), ``h`` name hint with its context
("layer_norm_eps" for ``LayerNorm(d, eps=1e-6)``), ``w`` the bare name ("eps"), ``k`` kind
(operand, compare, default, kwarg, assign, const), ``l``/``c``/``el``/``ec`` 1-based start
and end, ``s`` first line of the statement, ``q`` suppressed by ``# noqa``, ``m`` for
parameter defaults in methods: ``[class, [bases], method, parameter]``, ``id`` the name a
module constant is bound to.

What is left out here, because it is configuration rather than logic: argument-parser and
``dict(...)`` keyword arguments, fields of dataclass/attrs/config classes and the
constructor defaults of config classes, defaults of methods of a class that wraps an
imported concrete class (they restate that class's defaults), anything in a definition
marked ``# Copied from``, tolerances of assertions, and version comparisons.
"""

from __future__ import annotations

import ast
import bisect
import functools
import re
from collections.abc import Iterable
from typing import Any

from gradlint.semantic.syntax import walk
from gradlint.suppression import is_suppressed, line_suppressions

CODE = "GL004"

# Name tokens that give a literal a tuning role, mapped to the canonical role word.
ROLE_WORDS: dict[str, str] = {
    "penalty": "penalty", "penalties": "penalty",
    "threshold": "threshold", "thresholds": "threshold", "thresh": "threshold",
    "eps": "epsilon", "epsilon": "epsilon",
    "clip": "clip", "clipping": "clip",
    "margin": "margin", "margins": "margin",
    "coef": "coefficient", "coeff": "coefficient", "coefficient": "coefficient",
    "coefs": "coefficient", "coeffs": "coefficient", "coefficients": "coefficient",
    "tol": "tolerance", "tolerance": "tolerance", "atol": "absolute tolerance",
    "rtol": "relative tolerance",
    "weight": "weight", "weights": "weight",
    "factor": "factor",
}
# Role words that say too little alone: ``weight=0.5`` is any weight; ``kl_weight`` is one.
_NEEDS_QUALIFIER = frozenset({"weight", "weights", "factor"})
# Role words that name a tuning value only as a float (``expansion_factor=4`` is a width).
_FLOAT_ONLY = frozenset({"factor"})
# Tokens that make a name a count, a size or a switch, not a tuning value
# (``default_clip_size``, ``eps_steps``, ``threshold_epochs``).
_NOT_TUNING = frozenset({
    "size", "sizes", "len", "length", "dim", "dims", "num", "count", "steps", "step",
    "iters", "iter", "iterations", "id", "idx", "index", "frames", "epochs", "epoch",
    "batch", "tokens", "width", "height", "depth", "layers", "heads", "channels", "seed",
    "version", "mode", "type", "interval", "every", "period", "samples", "init",
})
# Words that make a module constant a tuning value even without a role word.
_TUNING_WORDS = frozenset({
    "scale", "factor", "ratio", "growth", "decay", "momentum", "temperature", "lr", "alpha",
    "beta", "gamma", "smoothing", "dropout",
})
# Quantities a threshold is compared against; a norm's threshold gets a direction.
_NORM_WORDS = frozenset({"norm", "norms", "grad", "grads", "gradient", "gradients"})
# Targets whose decrease is a penalty even when the operand's name says nothing.
_SCORE_WORDS = frozenset({"health", "score", "reward", "quality", "confidence"})
# Words of a penalty's operand that name the measure, not the penalty (``vanishing_ratio``).
_RATIO_WORDS = frozenset({"ratio", "ratios", "fraction", "share", "rate", "count"})
# Name tokens that do not say what a number is for.
_NOT_QUALIFIERS = frozenset({"default", "base", "my", "the", "value", "val", "self"})
# Values that are structure, not tuning: never reported.
_STRUCTURAL = frozenset({0.0, 1.0, -1.0})
_ARITHMETIC = frozenset({0.0, 1.0, -1.0, 2.0, -2.0})
_PERCENT = frozenset({100.0, 0.01})
_HALF = 0.5
# Calls whose keyword arguments are configuration or checks, not logic.
_CONFIG_CALLS = frozenset({
    "add_argument", "add_option", "option", "argument", "dict", "Field", "field",
    "set_defaults", "attrib", "ib", "update", "format", "pformat", "pprint",
})
# Calls named by their argument.
_WRAPPERS = frozenset({"abs", "float", "int", "round"})
# Calls whose value is noise, not a measured quantity (``random.random() > 0.5``).
_RANDOM = frozenset({"random", "rand", "uniform", "random_sample"})
_CHECK_CALL = re.compile(r"close|assert|equal", re.IGNORECASE)
# Classes whose fields are configuration.
_CONFIG_CLASS = re.compile(r"(Config|Configs|Cfg|Args|Arguments|Params|Settings|Options|HParams|Hparams)$")
_CONFIG_BASES = re.compile(r"(Config|Cfg|Args|Arguments|Params|Settings|BaseModel|NamedTuple|TypedDict|Schema)$")
_CONFIG_DECORATOR = re.compile(r"dataclass|(^|\.)(s|define|frozen|attrs)$|pydantic")
# Imported concrete classes whose defaults a subclass restates (optimizers, schedulers,
# normalization layers): ``class AdamW(torch.optim.AdamW)`` mirrors AdamW's ``eps``.
_CONCRETE_BASE = re.compile(
    r"^(Adam\w*|N?R?Adam|SGD|RMSprop|Adagrad|Adadelta|Adamax|ASGD|Rprop|LBFGS|SparseAdam|Adafactor|Lion\w*"
    r"|\w*LR|\w*Scheduler\w*|ReduceLROnPlateau|LayerNorm|GroupNorm|RMSNorm|(Batch|Instance)Norm\dd|LocalResponseNorm)$"
)

# A line is hot (its expressions are walked) when it holds one of these words, or compares
# with a number.
TRIGGER_WORDS = (
    "penalt", "thresh", "coef", "clip", "margin", "eps", "tol", "weight", "factor", "norm", "grad",
    "ratio", "health", "score", "reward",
)
_COMPARES_WITH_NUMBER = re.compile(r"[<>]=?\s*-?\.?\d")
TEXT_TRIGGER = re.compile("|".join([*TRIGGER_WORDS, _COMPARES_WITH_NUMBER.pattern]), re.IGNORECASE)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NEWLINE = re.compile(r"\r\n|\r|\n")
_COPIED = re.compile(r"#\s*copied from", re.IGNORECASE)


def hot_lines(lower: str, words: Iterable[str]) -> list[int]:
    """The 1-based lines of lower-cased text that hold one of ``words`` (lower case) or compare
    with a number, in order. One ``str.find`` scan per word: a regex alternation of the words
    costs several times more (it tries every word at every character)."""
    starts = [match.start() for match in _COMPARES_WITH_NUMBER.finditer(lower)]
    find = lower.find
    for word in words:
        at = find(word)
        while at >= 0:
            starts.append(at)
            at = find(word, at + len(word))
    starts.sort()
    lines: list[int] = []
    line, position = 1, 0
    for start in starts:
        line += lower.count("\n", position, start)
        position = start
        if not lines or lines[-1] != line:
            lines.append(line)
    return lines


@functools.lru_cache(maxsize=8)
def lower_case_trigger(pattern: str) -> re.Pattern[str]:
    """The trigger without IGNORECASE, for lower-cased text (much faster to scan)."""
    return re.compile(pattern.lower())


@functools.lru_cache(maxsize=4096)
def _tokens(name: str) -> tuple[str, ...]:
    return tuple(part.lower() for part in _CAMEL.sub("_", name).split("_") if part)


def name_tokens(name: str) -> list[str]:
    """``_vanishingRatio`` -> ``["vanishing", "ratio"]``."""
    return list(_tokens(name))


def role_of(tokens: Iterable[str], words: dict[str, str]) -> str | None:
    """The canonical role of a name's tokens, or ``None`` when no token names a tuning role.

    ``eps``, ``threshold`` and ``margin`` alone are roles (the value recurring in one
    package is what makes it a constant); ``weight`` needs a qualifier (``kl_weight``);
    counts and sizes (``clip_size``, ``eps_steps``) are not tuning values.
    """
    tokens = [token for token in tokens if token not in _NOT_QUALIFIERS]
    roles = [token for token in tokens if token in words]
    if not roles or any(token in _NOT_TUNING for token in tokens):
        return None
    if len(tokens) < 2 and roles[0] in _NEEDS_QUALIFIER:
        return None
    return " ".join(words.get(token, token) for token in tokens)


def number(node: ast.AST) -> tuple[float, str] | None:
    """(value, typed key) of a numeric literal, ``-literal`` included; bools are not numbers.
    The key keeps the type: ``4`` -> ``"4"``, ``4.`` and ``4.0`` -> ``"4.0"``."""
    negative = False
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        negative = isinstance(node.op, ast.USub)
        node = node.operand
    if not isinstance(node, ast.Constant):
        return None
    value = node.value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if negative:
        value = -value
    try:
        as_float = float(value)
    except OverflowError:
        return None
    if as_float != as_float or as_float in (float("inf"), float("-inf")):
        return None
    return as_float, repr(value)


def _plain(node: ast.AST) -> ast.AST:
    """The literal under a sign."""
    return node.operand if isinstance(node, ast.UnaryOp) else node  # type: ignore[attr-defined]


def _last_name(node: ast.AST) -> str | None:
    """The identifier an expression is named by: ``x``, ``self.x``, ``x.norm()``, ``x[0]``."""
    while True:
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, ast.Attribute):
            if node.attr in ("item", "float", "detach", "cpu", "data", "loc", "iloc", "values", "T"):
                node = node.value
                continue
            return node.attr
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in ("item", "float", "detach", "cpu"):
                node = func.value
                continue
            if isinstance(func, ast.Name) and func.id in _WRAPPERS and node.args:
                node = node.args[0]  # ``abs(sin_angle)`` is named by ``sin_angle``
                continue
            node = func
            continue
        if isinstance(node, ast.Subscript):
            node = node.value
            continue
        return None


def _leaves(node: ast.AST, op: type) -> Iterable[ast.AST]:
    """Operands of a chain of the same operator (``a * b * c``)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, ast.BinOp) and isinstance(current.op, op):
            stack.append(current.right)
            stack.append(current.left)
        else:
            yield current


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Call):
        return _dotted(node.func)
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


class _Class:
    __slots__ = ("name", "bases", "config", "wraps")

    def __init__(self, name: str, bases: list[str], config: bool, wraps: bool) -> None:
        self.name, self.bases, self.config, self.wraps = name, bases, config, wraps


class _Collector:
    """One pass over a module's statements, yielding facts."""

    def __init__(self, source: str, words: dict[str, str], hot_words: tuple[str, ...], package: str | None) -> None:
        self.source = source
        self.words = words
        self.package = package
        self.lines: list[str] | None = None
        self.facts: list[dict[str, Any]] = []
        self.statement = 1
        self._handled: set[int] = set()
        self.branch: tuple[int, int] | None = None  # (if chain, branch) of the current statement
        self.external: set[str] = set()  # names imported from outside the package
        self.copied: list[int] = []  # lines with a ``# Copied from`` marker
        if "opied" in source:
            self.copied = [source.count("\n", 0, m.start()) + 1 for m in _COPIED.finditer(source)]
        # Lines that mention a role or norm word: only expressions touching them are walked.
        self.hot = hot_lines(source.lower(), hot_words)

    def is_hot(self, node: ast.AST) -> bool:
        first = getattr(node, "lineno", None)
        if first is None:
            return True
        index = bisect.bisect_left(self.hot, first)
        return index < len(self.hot) and self.hot[index] <= (node.end_lineno or first)  # type: ignore[attr-defined]

    def is_copied(self, node: ast.stmt) -> bool:
        if not self.copied:
            return False
        first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        index = bisect.bisect_left(self.copied, first - 2)
        return index < len(self.copied) and self.copied[index] < first

    # -- places ---------------------------------------------------------------------------

    def _column(self, line: int, offset: int) -> int:
        """1-based character column of a UTF-8 byte offset (ast columns are bytes)."""
        if self.lines is None:
            self.lines = _NEWLINE.split(self.source)
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        if text.isascii():
            return offset + 1
        return len(text.encode("utf-8")[:offset].decode("utf-8", "replace")) + 1

    def _text(self, line: int, column: int, end_line: int, end_column: int, key: str) -> str:
        if line != end_line or self.lines is None:
            return key
        return self.lines[line - 1][column - 1:end_column - 1] or key

    def add(self, node: ast.AST, kind: str, role: str, hint: Iterable[str], word: str, **extra: Any) -> None:
        found = number(node)
        if found is None:
            return
        _, key = found
        line, end_line = node.lineno, node.end_lineno or node.lineno  # type: ignore[attr-defined]
        column = self._column(line, node.col_offset)  # type: ignore[attr-defined]
        end_column = self._column(end_line, node.end_col_offset or 0)  # type: ignore[attr-defined]
        fact: dict[str, Any] = {
            "v": key,
            "t": self._text(line, column, end_line, end_column, key),
            "r": role,
            "h": "_".join(hint),
            "w": word,
            "k": kind,
            "l": line,
            "c": column,
            "el": end_line,
            "ec": end_column,
            "s": self.statement,
            "q": False,
        }
        fact.update(extra)
        self.facts.append(fact)

    def named_value(self, node: ast.AST, kind: str, name: str, context: str | None, **extra: Any) -> None:
        """A literal bound to a name (default, keyword, assignment) in a tuning role."""
        found = number(node)
        if found is None:
            return
        tokens = _tokens(name)
        role = role_of(tokens, self.words)
        if role is None:
            return
        if found[0] in _STRUCTURAL and not (found[0] == -1.0 and "threshold" in role and found[1] == "-1.0"):
            return
        if isinstance(_plain(node).value, int) and _FLOAT_ONLY.intersection(tokens):  # type: ignore[union-attr]
            return
        hint = list(tokens)
        if context and len([t for t in tokens if t not in _NOT_QUALIFIERS]) < 2:
            hint = [*_tokens(context), *tokens]  # ``LayerNorm(eps=...)`` -> layer_norm_eps
        self.add(node, kind, role, hint, name, **extra)

    # -- statements -----------------------------------------------------------------------

    def body(self, statements: list[ast.stmt], scope: str, klass: _Class | None, function: str | None) -> None:
        for statement in statements:
            self.statement = statement.lineno
            self.stmt(statement, scope, klass, function)

    def stmt(self, node: ast.stmt, scope: str, klass: _Class | None, function: str | None) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if self.is_copied(node):
                return
            if not (klass is not None and scope == "class" and (klass.config or klass.wraps)):
                self.defaults(node, klass if scope == "class" else None)
            self.body(node.body, "function", None, node.name)
            return
        if isinstance(node, ast.ClassDef):
            if not self.is_copied(node):
                self.klass(node)
            return
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            self.imports(node)
            return
        if isinstance(node, ast.Assert):
            return  # tolerances of checks
        if isinstance(node, ast.If):
            self.if_chain(node, scope, klass, function, node.lineno, 0)
            return
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if node.value is not None and len(targets) == 1 and number(node.value) is not None:
                self.assignment(targets[0], node.value, scope, klass)
                return
        elif isinstance(node, ast.AugAssign):
            self.augmented(node)
        for field in node._fields:
            value = getattr(node, field)
            if isinstance(value, list):
                if value and isinstance(value[0], ast.stmt):
                    line = self.statement
                    self.body(value, scope, klass, function)
                    self.statement = line
                else:
                    for item in value:
                        if isinstance(item, (ast.excepthandler, ast.match_case)):
                            line = self.statement
                            self.body(item.body, scope, klass, function)
                            self.statement = line
                        elif isinstance(item, ast.AST):
                            self.expr(item, function)
            elif isinstance(value, ast.AST):
                self.expr(value, function)

    def if_chain(
        self, node: ast.If, scope: str, klass: _Class | None, function: str | None, chain: int, index: int
    ) -> None:
        """``if``/``elif``/``else`` branches are alternatives: an assignment in each is one
        setting per case (``threshold = 0.1`` for one dataset, for another), not a copy."""
        line, saved = self.statement, self.branch
        self.expr(node.test, function)
        self.branch = (chain, index)
        self.body(node.body, scope, klass, function)
        if len(node.orelse) == 1 and isinstance(node.orelse[0], ast.If):
            self.statement = node.orelse[0].lineno
            self.if_chain(node.orelse[0], scope, klass, function, chain, index + 1)
        elif node.orelse:
            self.branch = (chain, index + 1)
            self.body(node.orelse, scope, klass, function)
        self.statement, self.branch = line, saved

    def imports(self, node: ast.Import | ast.ImportFrom) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] != self.package:
                    self.external.add((alias.asname or alias.name).split(".")[0])
        elif not node.level and (node.module or "").split(".")[0] != self.package:
            self.external.update(alias.asname or alias.name for alias in node.names)

    def klass(self, node: ast.ClassDef) -> None:
        bases = [name for name in (_last_name(base) for base in node.bases) if name]
        decorators = [_dotted(d) or "" for d in node.decorator_list]
        config = bool(
            _CONFIG_CLASS.search(node.name)
            or any(_CONFIG_BASES.search(base) for base in bases)
            or any(_CONFIG_DECORATOR.search(d) for d in decorators)
        )
        wraps = False
        for base in node.bases:
            dotted = _dotted(base)
            if dotted and dotted.split(".")[0] in self.external and _CONCRETE_BASE.search(dotted.split(".")[-1]):
                wraps = True  # ``class AdamOptimizer(torch.optim.Adam)`` restates Adam's defaults
        self.body(node.body, "class", _Class(node.name, bases, config, wraps), None)

    def defaults(self, node: ast.FunctionDef | ast.AsyncFunctionDef, klass: _Class | None) -> None:
        args = node.args
        positional = [*args.posonlyargs, *args.args]
        pairs = list(zip(positional[len(positional) - len(args.defaults):], args.defaults))
        pairs += [(arg, default) for arg, default in zip(args.kwonlyargs, args.kw_defaults) if default is not None]
        if klass is not None:
            context = klass.name if node.name in ("__init__", "__new__", "__call__", "forward") else node.name
        else:
            context = node.name
        for arg, default in pairs:
            self.statement = node.lineno
            if number(default) is None:
                self.expr(default, None)  # ``norm_layer=partial(nn.LayerNorm, eps=1e-6)``
                continue
            method = [klass.name, klass.bases, node.name, arg.arg] if klass else None
            self.named_value(default, "default", arg.arg, context, m=method)

    def assignment(self, target: ast.expr, value: ast.expr, scope: str, klass: _Class | None) -> None:
        if isinstance(target, ast.Name):
            name = target.id
        elif isinstance(target, ast.Attribute):
            name = target.attr
        else:
            return
        if scope == "class" and klass is not None:
            if klass.config or name.isupper():
                return  # a config field, or a class constant named once in its class
        if scope == "module" and isinstance(target, ast.Name) and name.lstrip("_").isupper():
            found = number(value)
            if found is None:
                return
            # A tuning constant without a role word (``INITIAL_LOG_LOSS_SCALE``) still groups
            # with its namesakes in other modules; other constants only when named by a role.
            tokens = _tokens(name)
            role = role_of(tokens, self.words)
            if role is None and _TUNING_WORDS & set(tokens) and not _NOT_TUNING & set(tokens):
                role = " ".join(tokens)
            self.add(value, "const", role or "", tokens, name, id=name)
            return
        if self.branch is not None:
            self.named_value(value, "assign", name, None, b=list(self.branch))
        else:
            self.named_value(value, "assign", name, None)

    def augmented(self, node: ast.AugAssign) -> None:
        """``health -= vanishing_ratio * 0.5``: a penalty named after the operand and target."""
        if not isinstance(node.op, ast.Sub) or not isinstance(node.value, ast.BinOp):
            return
        if not isinstance(node.value.op, ast.Mult):
            return
        target = _last_name(node.target)
        if target is None:
            return
        target_tokens = list(_tokens(target))
        leaves = list(_leaves(node.value, ast.Mult))
        literals = [leaf for leaf in leaves if number(leaf) is not None]
        names = [name for name in (_last_name(leaf) for leaf in leaves if number(leaf) is None) if name]
        if len(literals) != 1 or not names:
            return
        anchor = next((name for name in names if role_of(_tokens(name), self.words)), None)
        if anchor is None and not _SCORE_WORDS & set(target_tokens):
            return
        tokens = list(_tokens(anchor or names[0]))
        subject = [token for token in tokens if token not in self.words and token not in _RATIO_WORDS] or tokens
        self._handled.add(id(literals[0]))
        word = "_".join(subject)
        self.add(literals[0], "operand", " ".join([*subject, "penalty"]), [*subject, *target_tokens, "penalty"], word)

    # -- expressions ----------------------------------------------------------------------

    def expr(self, root: ast.AST, function: str | None) -> None:
        if not self.is_hot(root):
            return
        for node in walk(root):
            if isinstance(node, ast.BinOp):
                self.binop(node)
            elif isinstance(node, ast.Compare):
                self.compare(node)
            elif isinstance(node, ast.Call) and node.keywords:
                self.keywords(node)

    def keywords(self, node: ast.Call) -> None:
        callee = _last_name(node.func) or ""
        if callee in _CONFIG_CALLS or _CHECK_CALL.search(callee) or _CONFIG_CLASS.search(callee):
            return
        if isinstance(node.func, ast.Name) and node.func.id == "partial" and node.args:
            callee = _last_name(node.args[0]) or callee  # ``partial(nn.LayerNorm, eps=1e-6)``
        for keyword in node.keywords:
            if keyword.arg is not None and number(keyword.value) is not None:
                # Two calls in one statement are two places (``group(Adam(eps=..), Adam(eps=..))``).
                self.named_value(keyword.value, "kwarg", keyword.arg, callee, u=f"{node.lineno}:{node.col_offset}")

    def binop(self, node: ast.BinOp) -> None:
        if not isinstance(node.op, (ast.Mult, ast.Div)):
            return  # ``0.5 + epsilon`` composes a value, it is not the epsilon
        for literal, other in ((node.left, node.right), (node.right, node.left)):
            found = number(literal)
            if found is None or id(literal) in self._handled or found[0] in _ARITHMETIC:
                continue
            value = found[0]
            if isinstance(node.op, (ast.Mult, ast.Div)) and (value in _PERCENT or value == _HALF):
                continue  # a percentage, or a half
            name = _last_name(other)
            if name is None:
                continue
            tokens = _tokens(name)
            role = role_of(tokens, self.words)
            if role is not None:
                self.add(literal, "operand", role, tokens, name)

    def compare(self, node: ast.Compare) -> None:
        operands = [node.left, *node.comparators]
        for index, op in enumerate(node.ops):
            if not isinstance(op, (ast.Lt, ast.LtE, ast.Gt, ast.GtE)):
                continue
            left, right = operands[index], operands[index + 1]
            for literal, other in ((right, left), (left, right)):
                found = number(literal)
                if found is None or found[0] in _ARITHMETIC:
                    continue
                if not isinstance(other, (ast.Name, ast.Attribute, ast.Call, ast.Subscript)):
                    continue
                name = _last_name(other)
                if name is None or len(name) < 2 or name in _RANDOM:
                    continue
                tokens = [t for t in _tokens(name) if t not in _NOT_QUALIFIERS]
                if not tokens or "version" in tokens or (name.startswith("__") and name.endswith("__")):
                    continue
                is_float = "." in found[1] or "e" in found[1]
                if _NORM_WORDS & set(tokens):
                    # ``grad_norm < 1e-7`` is a vanishing threshold, ``> 100.0`` an exploding one.
                    direction = "vanishing" if abs(found[0]) < 1.0 else "exploding"
                    # The name says what is compared: ``norm > 1e-12`` -> NORM_VANISHING_THRESHOLD.
                    hint = [t for t in tokens if t not in ("threshold", "thresh")] + [direction, "threshold"]
                    self.add(literal, "compare", f"{direction} threshold", hint, name)
                elif is_float:
                    role = role_of(tokens, self.words)
                    words = [self.words.get(t, t) for t in tokens if t not in _NOT_TUNING] or tokens
                    if role is None or not role.endswith("threshold"):
                        words = [*words, "threshold"]
                    hint = [t for t in tokens if t not in ("threshold", "thresh")] + ["threshold"]
                    self.add(literal, "compare", " ".join(words), hint, name)

    def mark_suppressed(self) -> None:
        """Record ``# noqa`` on each fact (tokenizing only files that have facts and a noqa)."""
        if not self.facts or "noqa" not in self.source.lower():
            return
        if self.lines is None:
            self.lines = _NEWLINE.split(self.source)
        rows = {row for fact in self.facts for row in (fact["l"], fact["s"])}
        if not any("noqa" in self.lines[row - 1].lower() for row in rows if row <= len(self.lines)):
            return
        noqa = line_suppressions(self.source)
        for fact in self.facts:
            fact["q"] = is_suppressed(CODE, (fact["l"], fact["s"]), noqa)


def collect(
    source: str,
    words: dict[str, str] | None = None,
    extra_hot_words: tuple[str, ...] = (),
    *,
    tree: ast.Module | None = None,
    package: str | None = None,
) -> list[dict[str, Any]] | None:
    """Facts of one module's source; ``None`` when it does not parse (GL000 reports that)."""
    if tree is None:
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
    hot_words = (*TRIGGER_WORDS, *(word.lower() for word in extra_hot_words))
    collector = _Collector(source, words or ROLE_WORDS, hot_words, package)
    try:
        collector.body(tree.body, "module", None, None)
    except RecursionError:
        return []
    collector.mark_suppressed()
    return collector.facts
