"""GL004's per-file phase: find numeric literals in a tuning role, with the stdlib ``ast``.

Facts are collected with ``ast`` rather than libcst: a file only needs a literal's value, its
place and the names around it, and ``ast`` parses about ten times faster than libcst (see
shared/research/perf-facts.md). libcst is used only by the project-wide fix, on the files it
rewrites.

A fact is a small JSON object (cacheable per file):

``v`` value key (``repr(float)``), ``t`` literal text, ``r`` role ("vanishing penalty"),
``h`` name hint ("vanishing_health_penalty"), ``k`` kind (operand, compare, default, assign,
const), ``l``/``c``/``el``/``ec`` 1-based start and end, ``s`` first line of the statement,
``q`` suppressed by ``# noqa``, ``m`` for parameter defaults in methods:
``[class, [bases], method, parameter]``, ``id`` the name a module constant is bound to.
"""

from __future__ import annotations

import ast
import bisect
import functools
import re
from collections.abc import Iterable
from typing import Any

from gradlint.suppression import is_suppressed, line_suppressions

CODE = "GL004"

# Name tokens that give a literal a tuning role, mapped to the canonical role word.
ROLE_WORDS: dict[str, str] = {
    "penalty": "penalty", "penalties": "penalty", "penalize": "penalty",
    "ratio": "ratio", "ratios": "ratio",
    "weight": "weight", "weights": "weight",
    "coef": "coefficient", "coeff": "coefficient", "coefficient": "coefficient",
    "coefficients": "coefficient", "coefs": "coefficient",
    "threshold": "threshold", "thresholds": "threshold", "thresh": "threshold",
    "eps": "epsilon", "epsilon": "epsilon",
    "clip": "clip", "clipping": "clip",
    "scale": "scale", "scales": "scale", "scaling": "scale",
    "margin": "margin", "margins": "margin",
    "factor": "factor",
}
# Quantities a threshold is compared against; ``norm``/``grad`` ones get a direction.
_NORM_WORDS = frozenset({"norm", "norms", "grad", "grads", "gradient", "gradients"})
# Targets whose decrease is a penalty even when the operand's name says nothing.
_SCORE_WORDS = frozenset({"health", "score", "reward", "quality", "confidence"})
# Name tokens that do not say what a number is for.
_NOT_QUALIFIERS = frozenset({"default", "base", "init", "initial", "my", "the", "value", "val"})
# Values that are structure, not tuning: never reported.
_STRUCTURAL = frozenset({0.0, 1.0, -1.0, 2.0, -2.0})
_PERCENT = 100.0
_HALF = 0.5

TEXT_TRIGGER = re.compile(
    r"penalt|thresh|coef|clip|margin|eps|ratio|weight|scal|factor|norm|grad", re.IGNORECASE
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NEWLINE = re.compile(r"\r\n|\r|\n")


@functools.lru_cache(maxsize=8)
def _lower_case(pattern: str) -> re.Pattern[str]:
    """The trigger without IGNORECASE, for lower-cased text (much faster to scan)."""
    return re.compile(pattern.lower())


def name_tokens(name: str) -> list[str]:
    """``_vanishingRatio`` -> ``["vanishing", "ratio"]``."""
    return [part.lower() for part in _CAMEL.sub("_", name).split("_") if part]


def role_of(tokens: list[str], words: dict[str, str]) -> str | None:
    """The canonical role of a name's tokens, or ``None`` when no token names a role.

    A bare role word (``eps``, ``threshold``, ``scale``) says what kind of number it is but
    not what it is for: two bare ``eps=1e-6`` defaults of unrelated functions are not one
    constant. A role needs a second word (``layer_norm_eps``, ``vanishing_threshold``, ``clip_coef``).
    """
    if not any(token in words for token in tokens):
        return None
    if sum(token not in _NOT_QUALIFIERS for token in tokens) < 2:
        return None
    return " ".join(words.get(token, token) for token in tokens)


def _number(node: ast.AST) -> tuple[float, str] | None:
    """(value, key) of a numeric literal, ``-literal`` included; bools are not numbers."""
    sign = 1.0
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        sign = -1.0 if isinstance(node.op, ast.USub) else 1.0
        node = node.operand
    if not isinstance(node, ast.Constant):
        return None
    value = node.value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = sign * float(value)
    except OverflowError:
        return None
    if number != number or number in _STRUCTURAL:  # NaN, or structure
        return None
    return number, repr(number)


def _last_name(node: ast.AST) -> str | None:
    """The identifier an expression is named by: ``x``, ``self.x``, ``x.norm()``, ``x[0]``."""
    while True:
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, ast.Attribute):
            if node.attr in ("item", "float", "detach", "cpu", "data"):
                node = node.value
                continue
            return node.attr
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in ("item", "float", "detach", "cpu"):
                node = func.value
                continue
            node = func
            continue
        if isinstance(node, ast.Subscript):
            node = node.value
            continue
        return None


def _leaves(node: ast.AST, op: type) -> Iterable[ast.AST]:
    """Operands of a chain of the same operator (``a * b * c``)."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, op):
        yield from _leaves(node.left, op)
        yield from _leaves(node.right, op)
    else:
        yield node


class _Collector:
    """One pass over a module's statements, yielding facts."""

    def __init__(self, source: str, words: dict[str, str], trigger: re.Pattern[str]) -> None:
        self.source = source
        self.words = words
        self.lines: list[str] | None = None
        self.facts: list[dict[str, Any]] = []
        self.statement = 1
        self._handled: set[int] = set()
        # Lines that mention a role or norm word: only expressions touching them are walked.
        self.hot: list[int] = []
        lower = source.lower()
        line, position, line_end = 1, 0, -1
        for match in _lower_case(trigger.pattern).finditer(lower):
            start = match.start()
            if start < line_end:
                continue  # this line is already hot
            line += lower.count("\n", position, start)
            position = start
            self.hot.append(line)
            line_end = lower.find("\n", start)
            if line_end < 0:
                break

    def is_hot(self, node: ast.AST) -> bool:
        first = getattr(node, "lineno", None)
        if first is None:
            return True
        index = bisect.bisect_left(self.hot, first)
        return index < len(self.hot) and self.hot[index] <= (node.end_lineno or first)  # type: ignore[attr-defined]

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

    def add(self, node: ast.AST, kind: str, role: str, hint: list[str], **extra: Any) -> None:
        found = _number(node)
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

    # -- statements -----------------------------------------------------------------------

    def body(self, statements: list[ast.stmt], scope: str, klass: tuple[str, list[str]] | None) -> None:
        for statement in statements:
            self.statement = statement.lineno
            self.stmt(statement, scope, klass)

    def stmt(self, node: ast.stmt, scope: str, klass: tuple[str, list[str]] | None) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            self.defaults(node, klass if scope == "class" else None)
            for decorator in node.decorator_list:
                self.expr(decorator)
            self.body(node.body, "function", None)
            return
        if isinstance(node, ast.ClassDef):
            bases = [name for name in (_last_name(base) for base in node.bases) if name]
            for base in node.bases:
                self.expr(base)
            self.body(node.body, "class", (node.name, bases))
            return
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if node.value is not None and len(targets) == 1:
                self.assignment(targets[0], node.value, scope)
        elif isinstance(node, ast.AugAssign):
            self.augmented(node)
        for field in node._fields:
            value = getattr(node, field)
            if isinstance(value, list):
                if value and isinstance(value[0], ast.stmt):
                    line = self.statement
                    self.body(value, scope, klass)
                    self.statement = line
                else:
                    for item in value:
                        if isinstance(item, ast.excepthandler):
                            self.body(item.body, scope, klass)
                        elif isinstance(item, ast.match_case):
                            self.body(item.body, scope, klass)
                        elif isinstance(item, ast.AST):
                            self.expr(item)
            elif isinstance(value, ast.AST):
                self.expr(value)

    def defaults(self, node: ast.FunctionDef | ast.AsyncFunctionDef, klass: tuple[str, list[str]] | None) -> None:
        args = node.args
        positional = [*args.posonlyargs, *args.args]
        pairs = list(zip(positional[len(positional) - len(args.defaults):], args.defaults))
        pairs += [(arg, default) for arg, default in zip(args.kwonlyargs, args.kw_defaults) if default is not None]
        for arg, default in pairs:
            tokens = name_tokens(arg.arg)
            role = role_of(tokens, self.words)
            if role is None or _number(default) is None:
                continue
            method = [klass[0], klass[1], node.name, arg.arg] if klass else None
            self.add(default, "default", role, tokens, m=method)

    def assignment(self, target: ast.expr, value: ast.expr, scope: str) -> None:
        if _number(value) is None:
            return
        if isinstance(target, ast.Name):
            name = target.id
        elif isinstance(target, ast.Attribute):
            name = target.attr
        else:
            return
        tokens = name_tokens(name)
        role = role_of(tokens, self.words)
        if role is None:
            return
        if scope != "function" and isinstance(target, ast.Name) and name.isupper():
            self.add(value, "const", role, tokens, id=name)
        else:
            self.add(value, "assign", role, tokens)

    def augmented(self, node: ast.AugAssign) -> None:
        """``health -= vanishing_ratio * 0.5``: a penalty named after the operand and target."""
        if not isinstance(node.op, ast.Sub) or not isinstance(node.value, ast.BinOp):
            return
        if not isinstance(node.value.op, ast.Mult):
            return
        target = _last_name(node.target)
        if target is None:
            return
        target_tokens = name_tokens(target)
        leaves = list(_leaves(node.value, ast.Mult))
        literals = [leaf for leaf in leaves if _number(leaf) is not None]
        names = [name for name in (_last_name(leaf) for leaf in leaves if _number(leaf) is None) if name]
        if len(literals) != 1 or not names:
            return
        anchor = next((name for name in names if role_of(name_tokens(name), self.words)), None)
        if anchor is None and not _SCORE_WORDS & set(target_tokens):
            return
        tokens = name_tokens(anchor or names[0])
        subject = [token for token in tokens if token not in self.words] or tokens
        self._handled.add(id(literals[0]))
        self.add(literals[0], "operand", " ".join([*subject, "penalty"]), [*subject, *target_tokens, "penalty"])

    # -- expressions ----------------------------------------------------------------------

    def expr(self, root: ast.AST) -> None:
        if not self.is_hot(root):
            return
        for node in ast.walk(root):
            if isinstance(node, ast.BinOp):
                self.binop(node)
            elif isinstance(node, ast.Compare):
                self.compare(node)

    def binop(self, node: ast.BinOp) -> None:
        if not isinstance(node.op, (ast.Mult, ast.Div, ast.Add, ast.Sub)):
            return
        for literal, other in ((node.left, node.right), (node.right, node.left)):
            found = _number(literal)
            if found is None or id(literal) in self._handled:
                continue
            value = found[0]
            if isinstance(node.op, (ast.Mult, ast.Div)) and value in (_PERCENT, _HALF):
                continue  # a percentage, or a half
            name = _last_name(other)
            if name is None:
                continue
            tokens = name_tokens(name)
            role = role_of(tokens, self.words)
            if role is not None:
                self.add(literal, "operand", role, tokens)

    def compare(self, node: ast.Compare) -> None:
        operands = [node.left, *node.comparators]
        for index, op in enumerate(node.ops):
            if not isinstance(op, (ast.Lt, ast.LtE, ast.Gt, ast.GtE)):
                continue
            left, right = operands[index], operands[index + 1]
            for literal, other, literal_is_right in ((right, left, True), (left, right, False)):
                if _number(literal) is None:
                    continue
                name = _last_name(other)
                if name is None:
                    continue
                tokens = name_tokens(name)
                role = role_of(tokens, self.words)
                # ``quantity > literal``: the literal bounds the quantity from above.
                upper = isinstance(op, (ast.Gt, ast.GtE)) == literal_is_right
                if "norm" in tokens or "norms" in tokens or (role is None and _NORM_WORDS & set(tokens)):
                    direction = "exploding" if upper else "vanishing"
                    self.add(literal, "compare", f"{direction} threshold", [direction, "threshold"])
                elif role is not None:
                    if not role.endswith("threshold"):
                        role += " threshold"
                        tokens = [*tokens, "threshold"]
                    self.add(literal, "compare", role, tokens)

    def mark_suppressed(self) -> None:
        """Record ``# noqa`` on each fact (tokenizing only files that have facts and a noqa)."""
        if not self.facts or "noqa" not in self.source.lower():
            return
        assert self.lines is not None
        rows = {row for fact in self.facts for row in (fact["l"], fact["s"])}
        if not any("noqa" in self.lines[row - 1].lower() for row in rows if row <= len(self.lines)):
            return
        noqa = line_suppressions(self.source)
        for fact in self.facts:
            fact["q"] = is_suppressed(CODE, (fact["l"], fact["s"]), noqa)


def collect(
    source: str,
    words: dict[str, str] | None = None,
    trigger: re.Pattern[str] | None = None,
    *,
    tree: ast.Module | None = None,
) -> list[dict[str, Any]] | None:
    """Facts of one module's source; ``None`` when it does not parse (GL000 reports that)."""
    if tree is None:
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
    collector = _Collector(source, words or ROLE_WORDS, trigger or TEXT_TRIGGER)
    try:
        collector.body(tree.body, "module", None)
    except RecursionError:
        return []
    collector.mark_suppressed()
    return collector.facts
