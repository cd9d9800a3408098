"""Expression shapes of hand-computed norms (GL001), on the stdlib ``ast`` and the semantic model.

What a squared value *is* comes from the model's value kinds (a gradient, a norm, a parameter,
a tensor), not from identifiers; this module adds the GL001-specific part: powers, roots and
sums of powers, and where a squared sum goes inside one function. The classifier works on one
function's events in source order with a small environment (name -> what it holds), so that a
sum of squares assigned to a name and rooted later, accumulated with ``+=`` / ``.add_()`` in a
loop, or stored for later is recognised without any extra pass over the tree.

No libcst here: fixes are spelled as source text from the ast positions and parsed into libcst
nodes only when a fix is applied (see ``gl001_manual_norm``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from gradlint.semantic import Kind
from gradlint.semantic.syntax import dotted_name as _dotted

if TYPE_CHECKING:
    from gradlint.semantic import SemanticModel

# Exponent names that mean "the norm order" (``** norm_type``, ``.pow(p)``).
_ORDER_NAMES = frozenset({"p", "ord", "order", "norm_type", "p_norm", "norm_ord", "norm_order"})
_NORM_FUNCTIONS = frozenset(
    {
        "torch.norm", "torch.linalg.norm", "torch.linalg.vector_norm", "torch.functional.norm",
        "torch.nn.utils.get_total_norm", "torch.nn.utils.clip_grad_norm_", "numpy.linalg.norm",
    }
)
_STACKERS = frozenset({"torch.stack", "torch.cat", "torch.tensor", "torch.as_tensor", "torch.hstack", "torch.concat"})
_FLOAT64 = frozenset({"double", "float64"})
# Wrappers that do not change which values are summed (dtype casts below float64, flat views).
_PASS_THROUGH = frozenset({"float", "detach", "abs", "flatten", "view", "reshape", "ravel", "contiguous", "to", "clone"})
_ROOT_FUNCTIONS = frozenset({"torch.sqrt", "math.sqrt", "numpy.sqrt"})
_POW_FUNCTIONS = frozenset({"torch.pow", "math.pow"})

# Signals: what the squared values are.
GRADIENT, NORM, PARAMETER, TENSOR = "gradient", "norm", "parameter", "tensor"
_KIND_SIGNAL = {
    Kind.GRADIENT: GRADIENT,
    Kind.GRADIENTS: GRADIENT,
    Kind.NORM: NORM,
    Kind.NORMS: NORM,
    Kind.PARAMETER: PARAMETER,
    Kind.PARAMETERS: PARAMETER,
    Kind.TENSOR: TENSOR,
    Kind.TENSORS: TENSOR,
}
_COLLECTION_KINDS = frozenset({Kind.GRADIENTS, Kind.NORMS, Kind.PARAMETERS, Kind.TENSORS})


def number(node: ast.AST) -> float | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = number(node.operand)
        return None if inner is None else -inner
    return None




def square_exponent(node: ast.AST) -> str | None:
    """``"2"`` for a literal 2, the order's spelling for ``norm_type``-like names, else None."""
    if number(node) == 2.0:
        return "2"
    dotted = _dotted(node)
    if dotted is not None and dotted.rpartition(".")[2] in _ORDER_NAMES:
        return dotted
    return None


def root_exponent(node: ast.AST) -> str | None:
    """``"2"`` for ``0.5`` or ``1/2``; the order's spelling for ``1.0 / norm_type``."""
    if number(node) == 0.5:
        return "2"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) and number(node.left) == 1.0:
        return square_exponent(node.right)
    return None


def mentions_float64(node: ast.AST) -> bool:
    for child in ast.walk(node):
        if isinstance(child, ast.Attribute) and child.attr in _FLOAT64:
            return True
        if isinstance(child, ast.Name) and child.id in _FLOAT64:
            return True
    return False


def method_name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


@dataclass(slots=True)
class Root:
    """A root taken of ``inner``: ``sqrt(inner)``, ``inner ** (1/p)``, ``pow(inner, 0.5)``."""

    node: ast.expr
    inner: ast.expr
    order: str
    python: bool  # math.sqrt / math.pow return a Python float


def as_root(node: ast.AST, model: SemanticModel) -> Root | None:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        order = root_exponent(node.right)
        return Root(node, node.left, order, False) if order else None
    if not isinstance(node, ast.Call) or node.keywords and not node.args:
        return None
    func = node.func
    args = node.args
    if any(isinstance(arg, ast.Starred) for arg in args):
        return None
    qualified = model.qualified_name(func)
    if qualified is None and isinstance(func, ast.Attribute):
        if func.attr in ("sqrt", "sqrt_") and not args and not node.keywords:
            return Root(node, func.value, "2", False)
        if func.attr in ("pow", "pow_") and len(args) == 1:
            order = root_exponent(args[0])
            return Root(node, func.value, order, False) if order else None
        return None
    if qualified is None and isinstance(func, ast.Name) and func.id == "pow" and len(args) == 2:
        qualified = "pow"
    if qualified in _ROOT_FUNCTIONS and len(args) == 1:
        return Root(node, args[0], "2", qualified == "math.sqrt")
    if qualified in (*_POW_FUNCTIONS, "pow") and len(args) == 2:
        order = root_exponent(args[1])
        return Root(node, args[0], order, qualified == "math.pow") if order else None
    return None


@dataclass(slots=True)
class Term:
    """What an expression holds, as far as GL001 cares.

    ``level`` 0: a p-th power (elementwise, or of one norm); 1: a sum of p-th powers;
    2: a list of terms (a comprehension or a name bound to one).
    """

    level: int
    order: str
    signal: str | None  # GRADIENT / NORM / PARAMETER / TENSOR / None (unknown values)
    fp64: bool = False
    host: bool = False  # per-tensor ``.item()``/``float()`` values: one host sync each
    inline: bool = True  # formed in the expression being looked at (no name lookups)
    multi: bool = False  # accumulated over several tensors
    origin: ast.AST | None = None  # where the squared sum is formed (the report's place)
    reduced: bool = False  # all-reduced across ranks before the root
    python: bool = False  # the squared values are Python numbers
    # How the fix names the tensors: ("single", base) | ("list", expr) | ("comp", comp, base)
    source: tuple | None = None
    # a ** 2 + b ** 2 (+ ...) of level-0 powers: the bases, for hypot / total_norm([a, b])
    parts: tuple[ast.expr, ...] | None = None


ZERO = "zero"


@dataclass(slots=True)
class Env:
    """Per-function knowledge: name -> Term (or ``ZERO``); mapping name -> stored values."""

    terms: dict[str, Term | str] = field(default_factory=dict)
    stores: dict[str, list[ast.expr]] = field(default_factory=dict)


class Classifier:
    """Classifies the expressions of one function, given its environment and the model."""

    def __init__(self, env: Env, model: SemanticModel) -> None:
        self.env = env
        self.model = model
        self.origin: ast.AST | None = None  # the statement being classified

    # -- what values are -------------------------------------------------------------------

    def strip(self, node: ast.expr) -> ast.expr:
        """``x.float().detach()`` -> ``x`` for casts and flat views (and ``.data``)."""
        while True:
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _PASS_THROUGH:
                if node.func.attr in ("view", "reshape") and not (
                    len(node.args) == 1 and number(node.args[0]) == -1.0
                ):
                    return node
                node = node.func.value
            elif isinstance(node, ast.Attribute) and node.attr == "data":
                node = node.value
            else:
                return node

    def signal(self, node: ast.expr, depth: int = 0) -> str | None:
        """What ``node``'s values are: a gradient, a norm, a parameter, a tensor, or unknown."""
        core = self.strip(node)
        kind = self.model.kind(core)
        found = _KIND_SIGNAL.get(kind)
        if found is not None:
            return found
        if self.norm_argument(core) is not None:
            return NORM  # torch.stack(norms).norm(): a norm of norms
        if depth > 4:
            return None
        return self._traced(core, depth + 1)

    def is_collection(self, node: ast.expr) -> bool:
        return self.model.kind(self.strip(node)) in _COLLECTION_KINDS

    def _traced(self, node: ast.expr, depth: int) -> str | None:
        """Follow Python numbers and mapping values back to the tensors they came from."""
        host = host_inner(node)
        if host is not None:
            return self.signal(host, depth)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "tolist":
            return self.signal(node.func.value, depth)
        if isinstance(node, ast.Name):
            binding = self.model.binding_of(node)
            if binding is None or binding.path:
                return None
            if binding.kind in ("assign", "walrus", "annotation") and binding.value is not None:
                return self.signal(binding.value, depth)
            if binding.kind in ("for", "comprehension") and binding.source is not None:
                return self.elements_signal(binding.source, depth)
            return None
        if isinstance(node, ast.Subscript):
            return self._stored_signal(node.value, depth)
        return None

    def elements_signal(self, node: ast.expr, depth: int) -> str | None:
        """What the elements of an iterated collection are."""
        if depth > 4:
            return None
        if isinstance(node, (ast.ListComp, ast.GeneratorExp, ast.SetComp)):
            return self.signal(node.elt, depth + 1)
        if isinstance(node, ast.DictComp):
            return self.signal(node.value, depth + 1)
        if isinstance(node, (ast.List, ast.Tuple)) and node.elts:
            signals = {self.signal(element, depth + 1) for element in node.elts}
            return signals.pop() if len(signals) == 1 else None
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr == "values" and not node.args:
                return self._stored_signal(func.value, depth + 1)
            if isinstance(func, ast.Name) and func.id in ("list", "tuple", "sorted", "reversed") and len(node.args) == 1:
                return self.elements_signal(node.args[0], depth + 1)
        if isinstance(node, ast.Name):
            binding = self.model.binding_of(node)
            if binding is not None and not binding.path and binding.kind in ("assign", "annotation") and binding.value is not None:
                return self.elements_signal(binding.value, depth + 1)
        kind = self.model.kind(node)
        return _KIND_SIGNAL.get(self.model.element_kind(kind)) if kind.is_collection else None

    def _stored_signal(self, container: ast.expr, depth: int) -> str | None:
        """The values a mapping holds: ``d[k] = v`` stores seen so far, or its literal."""
        name = _dotted(container)
        values: list[ast.expr] = list(self.env.stores.get(name, ())) if name else []
        if isinstance(container, ast.Name):
            binding = self.model.binding_of(container)
            if binding is not None and binding.value is not None and not binding.path:
                value = binding.value
                if isinstance(value, ast.DictComp):
                    values.append(value.value)
                elif isinstance(value, ast.Dict):
                    values.extend(v for v in value.values if v is not None)
        if not values:
            return None
        signals = {self.signal(value, depth + 1) for value in values}
        return signals.pop() if len(signals) == 1 else None

    def norm_argument(self, node: ast.expr) -> ast.expr | None:
        """The tensor whose norm ``node`` computes (``x.norm()``, ``torch.linalg.vector_norm(x)``)."""
        if not isinstance(node, ast.Call):
            return None
        func = node.func
        qualified = self.model.qualified_name(func)
        if qualified is None and isinstance(func, ast.Attribute) and func.attr == "norm":
            if isinstance(func.value, ast.Name) and func.value.id in ("self", "cls"):
                return None
            return func.value
        if qualified in _NORM_FUNCTIONS and node.args:
            return node.args[0]
        return None

    def norm_order(self, call: ast.Call) -> str:
        """The order a norm call uses: ``"2"`` unless given (positional ``p``/``ord`` or keyword)."""
        is_method = self.model.qualified_name(call.func) is None
        index = 0 if is_method else 1
        for keyword in call.keywords:
            if keyword.arg in ("p", "ord"):
                return square_exponent(keyword.value) or ast.unparse(keyword.value)
        if len(call.args) > index:
            value = call.args[index]
            return square_exponent(value) or ast.unparse(value)
        return "2"

    # -- powers ----------------------------------------------------------------------------

    def power(self, node: ast.expr) -> tuple[ast.expr, str] | None:
        """``(base, order)`` when ``node`` raises ``base`` to the 2nd (or p-th) power."""
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.Pow):
                order = square_exponent(node.right)
                return (node.left, order) if order else None
            if isinstance(node.op, ast.Mult) and number(node.left) is None and _same(node.left, node.right):
                return node.left, "2"
            return None
        if not isinstance(node, ast.Call) or any(isinstance(arg, ast.Starred) for arg in node.args):
            return None
        func = node.func
        args = node.args
        qualified = self.model.qualified_name(func)
        if qualified is None and isinstance(func, ast.Attribute):
            if func.attr in ("pow", "pow_") and len(args) == 1:
                order = square_exponent(args[0])
                return (func.value, order) if order else None
            if func.attr in ("square", "square_") and not args:
                return func.value, "2"
            return None
        if qualified is None and isinstance(func, ast.Name) and func.id == "pow":
            qualified = "pow"
        if qualified in (*_POW_FUNCTIONS, "pow") and len(args) == 2:
            order = square_exponent(args[1])
            return (args[0], order) if order else None
        if qualified in ("torch.square", "numpy.square") and len(args) == 1:
            return args[0], "2"
        return None

    def power_term(self, node: ast.expr) -> Term | None:
        found = self.power(node)
        if found is None:
            return None
        base, order = found
        core = self.strip(base)
        # (x - mean) ** 2: variance, squared error, a penalty -- not a norm.
        if isinstance(core, ast.BinOp) and isinstance(core.op, (ast.Sub, ast.Add)):
            return None
        inner = host_inner(core)
        python = inner is not None or self.model.kind(core) is Kind.NUMBER
        host = inner is not None and self._is_tensor_value(inner)
        term = Term(0, order, self.signal(base), fp64=mentions_float64(base), host=host, python=python, origin=node)
        if not python and self.is_collection(base):
            term.multi = True  # torch.stack(norms) ** 2: one square per tensor
        term.source = ("single", base)
        term.parts = (base,)
        return term

    def _is_tensor_value(self, node: ast.expr) -> bool:
        """``x`` in ``x.item()`` / ``float(x)`` is a tensor (one sync per call)."""
        kind = self.model.kind(self.strip(node))
        return kind.is_tensor_like or (kind is Kind.UNKNOWN and isinstance(node, (ast.Call, ast.Attribute)))

    # -- sums --------------------------------------------------------------------------------

    def classify(self, node: ast.expr) -> Term | None:
        """A power, a sum of powers, or a list of them; ``None`` for anything else."""
        if isinstance(node, ast.Name):
            found = self.lookup(node.id)
            return found if isinstance(found, Term) else None
        term = self.power_term(node)
        if term is not None:
            return term
        if isinstance(node, ast.Call):
            return self._call(node)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return self.add(node.left, node.right, node)
        if isinstance(node, ast.IfExp):
            return self._if_exp(node)
        if isinstance(node, (ast.ListComp, ast.GeneratorExp, ast.List, ast.Tuple)):
            return self.elements(node)
        return None

    def lookup(self, name: str) -> Term | str | None:
        found = self.env.terms.get(name)
        if isinstance(found, Term):
            return replace(found, inline=False, source=None, parts=None if found.parts is None else found.parts)
        return found

    def _call(self, node: ast.Call) -> Term | None:
        func = node.func
        qualified = self.model.qualified_name(func)
        if isinstance(func, ast.Name) and func.id == "float" and len(node.args) == 1 and qualified is None:
            inner = self.classify(node.args[0])
            return None if inner is None else replace(inner, python=True, host=inner.host or not inner.python)
        if isinstance(func, ast.Attribute) and qualified is None:
            method = func.attr
            if method in ("item", "float", "detach") and not node.args:
                inner = self.classify(func.value)
                if inner is not None and method == "item":
                    inner = replace(inner, python=True, host=inner.host or not inner.python)
                return inner
            if method == "sum":
                if node.args or any(k.arg in ("dim", "axis", "keepdim") for k in node.keywords):
                    return None
                return self._summed(func.value, node)
        if qualified in ("torch.sum", "numpy.sum") and node.args:
            if len(node.args) > 1 or any(k.arg in ("dim", "axis", "keepdim") for k in node.keywords):
                return None
            return self._summed(node.args[0], node)
        if qualified in _STACKERS and node.args:
            inner = self.elements(node.args[0])
            if inner is not None:
                inner.level = 2
            return inner
        if (qualified is None and isinstance(func, ast.Name) and func.id == "sum") or qualified == "math.fsum":
            if not node.args or len(node.args) > 2 or (len(node.args) == 2 and number(node.args[1]) != 0.0):
                return None
            inner = self.elements(node.args[0])
            if inner is None:
                return None
            return self._total(inner, node)
        return None

    def _summed(self, operand: ast.expr, call: ast.Call) -> Term | None:
        inner = self.classify(operand)
        if inner is None:
            return None
        if mentions_float64(call):
            inner = replace(inner, fp64=True)
        if inner.level == 0 and inner.signal is None and not inner.python:
            inner.signal = TENSOR  # a full ``.sum()`` of an elementwise square: a tensor
        if inner.level == 0 and inner.source is not None and inner.source[0] == "single":
            stacked = self._stacked(inner.source[1])
            if stacked is not None:
                inner.source = ("list", stacked)
                inner.multi = True
        return self._total(inner, call)

    def _stacked(self, base: ast.expr) -> ast.expr | None:
        """``L`` for ``torch.stack(L)`` (a tensor of per-tensor values)."""
        if isinstance(base, ast.Call) and self.model.qualified_name(base.func) in _STACKERS and len(base.args) == 1 and not base.keywords:
            return base.args[0]
        return None

    def _total(self, inner: Term, node: ast.AST) -> Term:
        total = replace(inner, level=1, parts=None)
        if inner.level == 2:
            total.multi = True
        if inner.inline:
            total.origin = node
        return total

    def elements(self, node: ast.expr) -> Term | None:
        """A list of powers or sums of powers: a comprehension, a literal, or a name bound to one."""
        if isinstance(node, ast.Name):
            found = self.lookup(node.id)
            if isinstance(found, Term):
                return replace(found, level=2)
            return None
        if isinstance(node, (ast.ListComp, ast.GeneratorExp)):
            element = self.classify(node.elt)
            if element is None or element.level == 2:
                return None
            term = replace(element, level=2, multi=True)
            if element.inline and len(node.generators) == 1 and element.source is not None and element.source[0] == "single":
                term.source = ("comp", node, element.source[1])
            else:
                term.source = None
            return term
        if isinstance(node, (ast.List, ast.Tuple)) and node.elts:
            terms = [self.classify(element) for element in node.elts]
            if any(term is None or term.level == 2 for term in terms):
                return None
            first = terms[0]
            assert first is not None
            signals = {t.signal for t in terms if t}
            return replace(
                first,
                level=2,
                multi=True,
                signal=signals.pop() if len(signals) == 1 else None,
                fp64=any(t.fp64 for t in terms if t),
                host=any(t.host for t in terms if t),
                inline=all(t.inline for t in terms if t),
                source=None,
                parts=None,
            )
        return None

    def add(self, left: ast.expr, right: ast.expr, node: ast.AST) -> Term | None:
        first = self._accumulator(left)
        second = self._accumulator(right)
        if first is None or second is None:
            return None
        if first == ZERO and second == ZERO:
            return None
        terms = [term for term in (first, second) if isinstance(term, Term)]
        if any(term.level == 2 for term in terms):
            return None
        parts: tuple[ast.expr, ...] | None = None
        if len(terms) == 2 and all(term.level == 0 or term.parts is not None for term in terms):
            # a ** 2 + b ** 2 of single values: two norms combined (hypot), or the magnitude of
            # two fields (silent): only norms count.
            if any(term.signal != NORM or (term.level == 0 and term.multi) for term in terms):
                return None
            if len({term.order for term in terms}) != 1:
                return None
            parts = tuple(part for term in terms for part in (term.parts or ()))
        merged = replace(terms[0], level=1, multi=True, source=None, parts=parts)
        signals = {term.signal for term in terms}
        merged.signal = signals.pop() if len(signals) == 1 else next((s for s in (GRADIENT, NORM, PARAMETER, TENSOR) if s in signals), None)
        merged.fp64 = any(term.fp64 for term in terms)
        merged.host = any(term.host for term in terms)
        merged.python = all(term.python for term in terms)
        merged.inline = all(term.inline for term in terms)
        merged.reduced = any(term.reduced for term in terms)
        merged.origin = next((term.origin for term in terms if not term.inline and term.origin is not None), node)
        return merged

    def _accumulator(self, node: ast.expr) -> Term | str | None:
        if isinstance(node, ast.Name):
            return self.lookup(node.id)
        if number(node) == 0.0:
            return ZERO
        return self.classify(node)

    def _if_exp(self, node: ast.IfExp) -> Term | None:
        body = self._accumulator(node.body)
        orelse = self._accumulator(node.orelse)
        terms = [term for term in (body, orelse) if isinstance(term, Term)]
        if not terms or any(item is None for item in (body, orelse)):
            return None
        merged = replace(max(terms, key=lambda term: term.level), inline=False, source=None, multi=True, parts=None)
        merged.origin = next((term.origin for term in terms if term.origin is not None), None)
        signals = {term.signal for term in terms}
        merged.signal = signals.pop() if len(signals) == 1 else None
        return merged


def host_inner(node: ast.expr) -> ast.expr | None:
    """``x`` for ``x.item()`` / ``float(x)``: a tensor read to a Python number."""
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "item" and not node.args:
            return func.value
        if isinstance(func, ast.Name) and func.id == "float" and len(node.args) == 1:
            return node.args[0]
    return None


def _same(left: ast.expr, right: ast.expr) -> bool:
    """``x * x``: both operands spell the same non-literal expression."""
    if type(left) is not type(right) or isinstance(left, ast.Constant):
        return False
    if isinstance(left, ast.Name):
        return left.id == right.id  # type: ignore[attr-defined]
    return ast.dump(left) == ast.dump(right)


def names_in(node: ast.AST) -> Iterator[str]:
    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            yield child.id
