"""Expression shapes of hand-computed norms (GL001): powers, roots, sums of powers.

The classifier works on one function's statements in source order with a small environment
(name -> what it holds), so that a sum of squares assigned to a name and rooted later, or
accumulated with ``+=`` in a loop, is recognised without any extra pass over the tree.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

import libcst as cst

from gradlint.names import dotted_name

# Exponent names that mean "the norm order" (``** norm_type``, ``.pow(p)``).
_ORDER_NAMES = frozenset({"p", "ord", "order", "norm_type", "p_norm", "norm_ord", "norm_order"})
# Identifiers that contain "grad"/"norm" but say nothing about the values.
_NOT_SIGNAL = frozenset(
    {
        "requires_grad", "requires_grad_", "no_grad", "enable_grad", "set_grad_enabled",
        "is_grad_enabled", "grad_fn", "retain_grad", "retain_grads", "zero_grad",
        "grad_mode", "gradcheck", "gradgradcheck", "normal", "normal_", "normalize",
        "normalized", "normalise", "normalization", "layer_norm", "layernorm", "rms_norm",
        "rmsnorm", "batch_norm", "batchnorm", "group_norm", "groupnorm", "instance_norm",
        "weight_norm", "spectral_norm", "norm_layer", "norm_eps",
    }
)
_SIGNAL_PARTS = frozenset({"norm", "norms", "gnorm", "gnorms", "pnorm", "gradnorm", "totalnorm"})
_SPLIT = re.compile(r"_+|(?<=[a-z0-9])(?=[A-Z])")
# Calls that return a norm of their argument(s).
_NORM_FUNCTIONS = frozenset(
    {
        "torch.norm", "torch.linalg.norm", "torch.linalg.vector_norm", "torch.linalg.matrix_norm",
        "torch.functional.norm", "torch._foreach_norm", "torch.nn.utils.get_total_norm",
        "torch.nn.utils.clip_grad_norm_", "numpy.linalg.norm",
    }
)
_STACKERS = frozenset({"torch.stack", "torch.cat", "torch.tensor", "torch.as_tensor", "torch.hstack", "torch.concat"})
_FLOAT64 = frozenset({"double", "float64"})
# Wrappers that do not change which values are summed (dtype casts below float64, views).
_PASS_THROUGH_METHODS = frozenset({"float", "detach", "abs", "flatten", "view", "reshape", "ravel", "contiguous", "to", "clone"})

Resolver = Callable[[str], "str | None"]


def code_of(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node)


def identifiers(node: cst.CSTNode) -> Iterator[str]:
    """Every ``Name`` value and attribute name in a subtree."""
    stack: list[cst.CSTNode] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Name):
            yield current.value
        elif isinstance(current, cst.Attribute):
            yield current.attr.value
            stack.append(current.value)
        elif isinstance(current, (cst.SimpleString, cst.Integer, cst.Float, cst.FormattedString)):
            continue
        else:
            stack.extend(current.children)


def is_signal_identifier(name: str) -> bool:
    """Whether a name says its value is a gradient or a norm (``grads``, ``main_grad``, ``total_norm``)."""
    if name.lower() in _NOT_SIGNAL:
        return False
    for part in _SPLIT.split(name):
        lower = part.lower()
        if lower.startswith("grad") or lower in _SIGNAL_PARTS:
            return True
    return False


def strip_calls(node: cst.BaseExpression, methods: frozenset[str]) -> cst.BaseExpression:
    """``x.float().detach()`` -> ``x`` for the given no-op-ish methods (and ``.data``)."""
    while True:
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value in methods:
            if node.func.attr.value in ("view", "reshape", "to") and not _is_flat_view(node):
                return node
            node = node.func.value
        elif isinstance(node, cst.Attribute) and node.attr.value == "data":
            node = node.value
        else:
            return node


def _is_flat_view(call: cst.Call) -> bool:
    """``.view(-1)``/``.reshape(-1)``/``.to(dtype or device)``: same values, same sum."""
    if isinstance(call.func, cst.Attribute) and call.func.attr.value == "to":
        return True
    return len(call.args) == 1 and code_of(call.args[0].value).replace(" ", "") == "-1"


def number(node: cst.BaseExpression) -> float | None:
    if isinstance(node, (cst.Integer, cst.Float)):
        try:
            return float(node.value.replace("_", ""))
        except ValueError:
            return None
    return None


def square_exponent(node: cst.BaseExpression) -> str | None:
    """``"2"`` for a literal 2, the order's spelling for ``norm_type``-like names, else None."""
    if number(node) == 2.0:
        return "2"
    dotted = dotted_name(node)
    if dotted is not None and dotted.rpartition(".")[2] in _ORDER_NAMES:
        return dotted
    return None


def root_exponent(node: cst.BaseExpression) -> str | None:
    """``"2"`` for ``0.5`` or ``1/2``; the order's spelling for ``1.0 / norm_type``."""
    if number(node) == 0.5:
        return "2"
    if (
        isinstance(node, cst.BinaryOperation)
        and isinstance(node.operator, cst.Divide)
        and number(node.left) == 1.0
    ):
        return square_exponent(node.right)
    return None


@dataclass(slots=True)
class Root:
    """A root taken of ``inner``: ``sqrt(inner)``, ``inner ** (1/p)``, ``pow(inner, 0.5)``."""

    node: cst.BaseExpression
    inner: cst.BaseExpression
    order: str
    python: bool  # math.sqrt / math.pow return a Python float


def as_root(node: cst.CSTNode, resolve: Resolver) -> Root | None:
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Power):
        order = root_exponent(node.right)
        return Root(node, node.left, order, False) if order else None
    if not isinstance(node, cst.Call):
        return None
    func = node.func
    args = [arg for arg in node.args if arg.keyword is None]
    if isinstance(func, cst.Attribute) and func.attr.value in ("sqrt", "sqrt_") and not node.args:
        receiver_name = dotted_name(func.value)
        if receiver_name is None or resolve(receiver_name) is None:
            return Root(node, func.value, "2", False)
    if isinstance(func, cst.Attribute) and func.attr.value in ("pow", "pow_") and len(args) == 1:
        receiver_name = dotted_name(func.value)
        if receiver_name is None or resolve(receiver_name) is None:
            order = root_exponent(args[0].value)
            return Root(node, func.value, order, False) if order else None
    name = dotted_name(func)
    if name is None:
        return None
    qualified = resolve(name) or (name if name in ("pow", "sqrt") else None)
    if qualified is None:
        return None
    if qualified in ("torch.sqrt", "math.sqrt", "numpy.sqrt", "sqrt") and len(args) == 1:
        return Root(node, args[0].value, "2", qualified.startswith("math."))
    if qualified in ("torch.pow", "math.pow", "pow") and len(args) == 2:
        order = root_exponent(args[1].value)
        return Root(node, args[0].value, order, qualified == "math.pow") if order else None
    return None


@dataclass(slots=True)
class Term:
    """What an expression holds, as far as GL001 cares.

    ``level`` 0: a p-th power (elementwise, or of one norm); 1: a sum of p-th powers;
    2: a list of terms (a comprehension or a name bound to one).
    """

    level: int
    order: str
    signal: bool
    fp64: bool = False
    host: bool = False  # per-tensor ``.item()``/``float()`` values: one host sync each
    inline: bool = True  # formed in the expression being looked at (no name lookups)
    multi: bool = False  # accumulated over several tensors
    origin: cst.CSTNode | None = None  # the statement that forms the squares
    reduced: bool = False  # all-reduced across ranks before the root
    # How the fix names the tensors: ("single", base) | ("list", expr) | ("comp", comp, base)
    source: tuple | None = None


@dataclass(slots=True)
class Env:
    """Per-function knowledge: name -> Term (or ``ZERO``), names holding grads or norms."""

    terms: dict[str, Term | str] = field(default_factory=dict)
    tainted: set[str] = field(default_factory=set)
    host: set[str] = field(default_factory=set)  # names holding per-tensor Python numbers


ZERO = "zero"


class Classifier:
    """Classifies expressions of one statement, given the function's environment."""

    def __init__(self, env: Env, resolve: Resolver, statement: cst.CSTNode | None) -> None:
        self.env = env
        self.resolve = resolve
        self.statement = statement
        self.host_terms: list[Term] = []

    # -- helpers ---------------------------------------------------------------------------

    def qualified(self, node: cst.BaseExpression) -> str | None:
        name = dotted_name(node)
        return None if name is None else self.resolve(name)

    def signal(self, node: cst.CSTNode) -> bool:
        for name in identifiers(node):
            if is_signal_identifier(name) or name in self.env.tainted:
                return True
        return False

    def is_norm_call(self, node: cst.BaseExpression) -> cst.BaseExpression | None:
        """The tensor whose norm ``node`` computes (``x.norm()``, ``torch.linalg.vector_norm(x)``)."""
        if not isinstance(node, cst.Call):
            return None
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value == "norm":
            receiver = dotted_name(func.value)
            if receiver in ("self", "cls"):
                return None  # a normalisation layer called on an input, not a tensor norm
            owner = self.resolve(receiver) if receiver is not None else None
            if owner is None:
                return func.value
            if owner in ("torch", "torch.linalg", "numpy.linalg") and node.args:
                return node.args[0].value
            return None
        if self.qualified(func) in _NORM_FUNCTIONS and node.args:
            return node.args[0].value
        return None

    def norm_order(self, call: cst.Call) -> str:
        """The order a norm call uses: ``"2"`` unless given (positional ``p``/``ord`` or keyword)."""
        positional = [arg for arg in call.args if arg.keyword is None]
        is_method = isinstance(call.func, cst.Attribute) and self.qualified(call.func) is None
        index = 0 if is_method else 1
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value in ("p", "ord"):
                return square_exponent(arg.value) or code_of(arg.value)
        if len(positional) > index:
            return square_exponent(positional[index].value) or code_of(positional[index].value)
        return "2"

    def has_dim(self, call: cst.Call, first_positional: int) -> bool:
        positional = [arg for arg in call.args if arg.keyword is None]
        if len(positional) > first_positional:
            return True
        return any(arg.keyword is not None and arg.keyword.value in ("dim", "axis", "keepdim") for arg in call.args)

    def lookup(self, name: str) -> Term | str | None:
        found = self.env.terms.get(name)
        if isinstance(found, Term):
            copy = replace(found, inline=False)
            # Share the mutable flags with the stored term through the origin.
            return copy
        return found

    # -- powers ----------------------------------------------------------------------------

    def power(self, node: cst.BaseExpression) -> tuple[cst.BaseExpression, str] | None:
        """``(base, order)`` when ``node`` raises ``base`` to the 2nd (or p-th) power."""
        if isinstance(node, cst.BinaryOperation):
            if isinstance(node.operator, cst.Power):
                order = square_exponent(node.right)
                return (node.left, order) if order else None
            if isinstance(node.operator, cst.Multiply) and node.left.deep_equals(node.right):
                if isinstance(node.left, (cst.Integer, cst.Float)):
                    return None
                return node.left, "2"
            return None
        if not isinstance(node, cst.Call):
            return None
        func = node.func
        args = [arg.value for arg in node.args if arg.keyword is None]
        if isinstance(func, cst.Attribute) and self.qualified(func) is None:
            method = func.attr.value
            if method in ("pow", "pow_") and len(args) == 1:
                order = square_exponent(args[0])
                return (func.value, order) if order else None
            if method in ("square", "square_") and not args:
                return func.value, "2"
        qualified = self.qualified(func)
        if qualified is None and isinstance(func, cst.Name) and func.value == "pow":
            qualified = "pow"
        if qualified in ("torch.pow", "math.pow", "pow") and len(args) == 2:
            order = square_exponent(args[1])
            return (args[0], order) if order else None
        if qualified == "torch.square" and len(args) == 1:
            return args[0], "2"
        return None

    def power_term(self, node: cst.BaseExpression) -> Term | None:
        found = self.power(node)
        if found is None:
            return None
        base, order = found
        core = strip_calls(base, _PASS_THROUGH_METHODS)
        # (x - mean) ** 2: variance, squared error, gradient penalty -- not a norm.
        if isinstance(core, cst.BinaryOperation) and isinstance(core.operator, (cst.Subtract, cst.Add)):
            return None
        host = False
        if isinstance(core, cst.Call):
            if isinstance(core.func, cst.Attribute) and core.func.attr.value == "item" and not core.args:
                host = True
            elif isinstance(core.func, cst.Name) and core.func.value == "float" and len(core.args) == 1:
                host = True
        fp64 = any(name in _FLOAT64 for name in identifiers(base))
        term = Term(0, order, self.signal(base), fp64=fp64, host=host, origin=self.statement)
        term.source = ("single", base)
        return term

    # -- sums --------------------------------------------------------------------------------

    def classify(self, node: cst.BaseExpression) -> Term | None:
        """A power, a sum of powers, or a list of them; ``None`` for anything else."""
        if isinstance(node, cst.Name):
            found = self.lookup(node.value)
            return found if isinstance(found, Term) else None
        term = self.power_term(node)
        if term is not None:
            return term
        if isinstance(node, cst.Call):
            return self._call(node)
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
            return self._add(node.left, node.right)
        if isinstance(node, cst.IfExp):
            return self._if_exp(node)
        if isinstance(node, (cst.ListComp, cst.GeneratorExp, cst.List, cst.Tuple)):
            return self.elements(node)
        return None

    def _call(self, node: cst.Call) -> Term | None:
        func = node.func
        qualified = self.qualified(func)
        # float(x) / x.item() of a total: one sync, same values.
        if isinstance(func, cst.Name) and func.value == "float" and len(node.args) == 1 and qualified is None:
            return self.classify(node.args[0].value)
        if isinstance(func, cst.Attribute) and qualified is None:
            method = func.attr.value
            if method in ("item", "float", "detach") and not node.args:
                return self.classify(func.value)
            if method == "sum":
                if self.has_dim(node, 0):
                    return None
                return self._summed(func.value, node)
        if qualified == "torch.sum" and node.args:
            if self.has_dim(node, 1):
                return None
            return self._summed(node.args[0].value, node)
        if qualified in _STACKERS and node.args:
            inner = self.elements(node.args[0].value)
            if inner is not None:
                inner.level = 2
            return inner
        if (qualified is None and isinstance(func, cst.Name) and func.value == "sum") or qualified == "math.fsum":
            if not node.args:
                return None
            inner = self.elements(node.args[0].value)
            if inner is None:
                return None
            return self._total(inner, node)
        return None

    def _summed(self, operand: cst.BaseExpression, call: cst.Call) -> Term | None:
        inner = self.classify(operand)
        if inner is None:
            return None
        if any(name in _FLOAT64 for name in identifiers(call)):
            inner = replace(inner, fp64=True)
        if inner.level == 0 and inner.source is not None and inner.source[0] == "single":
            base = inner.source[1]
            stacked = self._stacked(base)
            if stacked is not None:
                inner.source = ("list", stacked)
                inner.multi = True
        return self._total(inner, call)

    def _stacked(self, base: cst.BaseExpression) -> cst.BaseExpression | None:
        """``L`` for ``torch.stack(L)`` (a tensor of per-tensor values)."""
        if isinstance(base, cst.Call) and self.qualified(base.func) in _STACKERS and len(base.args) == 1:
            return base.args[0].value
        return None

    def _total(self, inner: Term, node: cst.CSTNode) -> Term:
        total = replace(inner, level=1)
        if inner.level == 2:
            total.multi = True
        if inner.host and inner.signal and inner.inline:
            self.host_terms.append(total)
        return total

    def elements(self, node: cst.BaseExpression) -> Term | None:
        """A list of powers or sums of powers: a comprehension, a literal, or a name bound to one."""
        if isinstance(node, cst.Name):
            found = self.lookup(node.value)
            if isinstance(found, Term):
                return replace(found, level=2)
            return None
        if isinstance(node, (cst.ListComp, cst.GeneratorExp)):
            element = self.classify(node.elt)
            if element is None or element.level == 2:
                return None
            term = replace(element, level=2, multi=True)
            term.signal = element.signal or self.signal(node.for_in.iter)
            iterable = node.for_in.iter
            if isinstance(iterable, cst.Name) and iterable.value in self.env.host:
                term.host = True
            for_in = node.for_in
            if element.inline and for_in.inner_for_in is None and element.source is not None and element.source[0] == "single":
                term.source = ("comp", node, element.source[1])
            else:
                term.source = None
            return term
        if isinstance(node, (cst.List, cst.Tuple)) and node.elements:
            terms = [self.classify(element.value) for element in node.elements]
            if any(term is None or term.level == 2 for term in terms):
                return None
            first = terms[0]
            assert first is not None
            return replace(
                first,
                level=2,
                multi=True,
                signal=any(t.signal for t in terms if t),
                fp64=any(t.fp64 for t in terms if t),
                host=any(t.host for t in terms if t),
                inline=all(t.inline for t in terms if t),
                source=None,
            )
        return None

    def _add(self, left: cst.BaseExpression, right: cst.BaseExpression) -> Term | None:
        first = self._accumulator(left)
        second = self._accumulator(right)
        if first is None or second is None:
            return None
        if first == ZERO and second == ZERO:
            return None
        terms = [term for term in (first, second) if isinstance(term, Term)]
        if any(term.level == 2 for term in terms):
            return None
        # x**2 + y**2 of two elementwise values is a magnitude (hypot), not a norm.
        if len(terms) == 2 and all(term.level == 0 for term in terms):
            return None
        merged = replace(terms[0], level=1, multi=True, source=None)
        merged.signal = any(term.signal for term in terms)
        merged.fp64 = any(term.fp64 for term in terms)
        merged.host = any(term.host for term in terms)
        merged.inline = all(term.inline for term in terms)
        merged.reduced = any(term.reduced for term in terms)
        merged.origin = next((term.origin for term in terms if not term.inline), terms[0].origin)
        return merged

    def _accumulator(self, node: cst.BaseExpression) -> Term | str | None:
        if isinstance(node, cst.Name):
            found = self.lookup(node.value)
            return found
        if number(node) == 0.0:
            return ZERO
        return self.classify(node)

    def _if_exp(self, node: cst.IfExp) -> Term | None:
        body = self._accumulator(node.body)
        orelse = self._accumulator(node.orelse)
        terms = [term for term in (body, orelse) if isinstance(term, Term)]
        if not terms or any(item is None for item in (body, orelse)):
            return None
        merged = replace(max(terms, key=lambda term: term.level), inline=False, source=None, multi=True)
        merged.origin = next((term.origin for term in terms if term.origin is not None), None)
        merged.signal = any(term.signal for term in terms)
        return merged

    # -- name binding ---------------------------------------------------------------------

    def holds_host_numbers(self, value: cst.BaseExpression) -> bool:
        """``[p.grad.norm().item() for p in ...]``: one Python number (one sync) per tensor."""
        if isinstance(value, (cst.ListComp, cst.GeneratorExp)):
            element = value.elt
            return isinstance(element, cst.Call) and (
                (isinstance(element.func, cst.Attribute) and element.func.attr.value == "item")
                or (isinstance(element.func, cst.Name) and element.func.value == "float")
            )
        return False

    def holds_gradients_or_norms(self, value: cst.BaseExpression) -> bool:
        """Whether a value assigned to a name makes that name a gradient/norm holder."""
        core = strip_calls(value, _PASS_THROUGH_METHODS | {"item", "clone"})
        if isinstance(core, cst.Call) and isinstance(core.func, cst.Name) and core.func.value in ("float", "list", "tuple"):
            if core.args:
                core = strip_calls(core.args[0].value, _PASS_THROUGH_METHODS | {"item"})
        if isinstance(core, cst.Attribute) and is_signal_identifier(core.attr.value):
            return True
        if self.is_norm_call(core) is not None:
            return True
        if isinstance(core, cst.Call) and self.qualified(core.func) in _STACKERS and core.args:
            return self.holds_gradients_or_norms(core.args[0].value)
        if isinstance(core, (cst.ListComp, cst.GeneratorExp)):
            return self.holds_gradients_or_norms(core.elt)
        if isinstance(core, cst.Name):
            return core.value in self.env.tainted
        return False
