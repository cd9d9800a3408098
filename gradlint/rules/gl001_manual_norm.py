"""GL001 manual-norm."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import libcst as cst

from gradlint.context import FileContext
from gradlint.names import dotted_name
from gradlint.options import RUNTIME_MODULE_OPTION
from gradlint.prescreen import AstScreen, scopes, statements_holding
from gradlint.cst_rule import NO_FIX, CstFix as Fix, CstRule as Rule, ImportSpec, Invalid, Valid
from gradlint.rules._norm_shapes import (
    ZERO,
    Classifier,
    Env,
    Root,
    Term,
    as_root,
    code_of,
    is_signal_identifier,
    number,
    strip_calls,
)

_ROOT_TOKEN = re.compile(r"sqrt|\*\*\s*\(?\s*(?:0?\.5\b|1\.?0*\s*/)|pow\(|norm")
_SQUARE_TOKEN = re.compile(r"\*\*|pow\(|square\(|\b([A-Za-z_][\w.]*(?:\(\))?)\s*\*\s*\1(?![\w.(])")
_ZERO_FACTORIES = frozenset({"torch.zeros", "torch.zeros_like", "torch.tensor", "torch.scalar_tensor"})
_WRAPPERS = frozenset({"float", "detach", "data", "abs", "flatten", "view", "reshape", "ravel", "contiguous", "to", "clone"})

_TENSOR_MESSAGE = (
    "Norm computed by hand as the root of a sum of squares: the squares overflow to inf in "
    "float32 once an element passes ~1.8e19 (far sooner in float16/bfloat16) and underflow "
    "to 0 for tiny gradients; use `{rt}.total_norm(...)` / `{rt}.norm(...)`"
)
_HOST_MESSAGE = (
    "Norm accumulated in Python from per-tensor `.item()`/`float()` values: one host-device "
    "sync per tensor (N syncs), and the squares can overflow/underflow; use "
    "`{rt}.total_norm(...)` (one on-device norm, one sync at most)"
)


@dataclass(slots=True)
class _Frame:
    """Events of one function body (or the module body), in source order."""

    events: list[tuple[str, cst.CSTNode, cst.CSTNode | None, int]] = field(default_factory=list)
    loops: int = 0
    penalty: bool = False  # double backward (``create_graph=True``): a gradient penalty


@dataclass(slots=True)
class _Candidate:
    node: cst.CSTNode
    origin: cst.CSTNode | None
    term: Term
    root: Root
    key: cst.CSTNode | None
    fix: Fix | None


class ManualNorm(Rule):
    """
    ## What it does
    Flags a norm of gradients (or of per-tensor norms) computed by hand: the square root of a
    sum of squares, in any spelling (`x * x`, `x ** 2`, `x.pow(2)`, `torch.square(x)`;
    `.sum()`, `torch.sum`, builtin `sum`; `.sqrt()`, `torch.sqrt`, `math.sqrt`, `** 0.5`,
    `** (1 / p)`), also when the parts are split across statements of one function (a sum
    assigned and rooted later, `+=` in a loop, `total = sq if total is None else total + sq`,
    a list of squares summed later), per-tensor norms combined with
    `torch.stack(norms).pow(2).sum().sqrt()`, and Python-side accumulation of `.item()` values
    (`total += p.grad.norm().item() ** norm_type`).

    A gradient/norm signal is required: the squared values mention `grad` (`.grad`,
    `main_grad`, `grads`) or a norm (`norms`, `x.norm()`, a name bound to one). Silent on
    variance and RMS statistics (a mean subtracted, `.mean()`, a division by a count before
    the root), sums over a `dim`, `sqrt(sum + eps)`, gradient penalties (functions that call
    `autograd.grad(..., create_graph=True)`), LAMB trust ratios (a single-tensor root divided
    by another norm), the root of a count or a single scalar, sums that are all-reduced before
    the root (the distributed form; `total_norm(process_group=...)` covers it, but a per-tensor
    `.item()` in that loop is still flagged), and squares computed in float64 (`.double()`,
    `dtype=torch.float64`): float64 has no overflow risk at gradient scales, so chunked float64
    norms of huge tensors are deliberate.

    ## Why is this bad
    Squaring in float32 overflows to `inf` once an element passes ~1.8e19, much sooner in
    float16/bfloat16, and underflows to 0 for elements below ~1e-19; one kernel is launched per
    tensor, and the `.item()` form forces one host-device sync per parameter.

    ## Example
    ```python
    total = sum((g * g).sum() for g in grads).sqrt()
    ```

    ## Use instead
    ```python
    import gradlint_runtime

    total = gradlint_runtime.total_norm(grads)
    ```

    ## Fix safety
    Unsafe: the result changes exactly where the hand-written form was wrong (no more `inf` or
    0), and the result dtype is float32 for half-precision inputs. Canonical single-expression
    shapes are rewritten to `total_norm(<tensors>)` or `norm(<tensor>)`, keeping `.item()` where
    the original produced a Python number; shapes spread over several statements are reported
    without a fix.

    ## Options
    - `runtime-module`: the module fixes import runtime helpers from (default `gradlint_runtime`).
    """

    code = "GL001"
    name = "manual-norm"
    summary = "Gradient norm computed by hand (overflow, underflow, host syncs)"
    OPTIONS = (RUNTIME_MODULE_OPTION,)

    def prescreen(self, screen: AstScreen) -> bool:
        """Some scope (a function, or module-level code) holds a root, a power and a
        gradient/norm name: regex on the scope's text first, then the stdlib ``ast``."""
        candidates = [
            function
            for function, text, nodes in scopes(screen)
            if _ROOTISH.search(text)
            and _POWERISH.search(text)
            and _SIGNALISH.search(text)
            and _has_norm_shape(nodes)
        ]
        screen.memo[self.code] = candidates
        return bool(candidates)

    def regions(self, screen: AstScreen) -> set[int] | None:
        """The module-level statements holding candidate functions (module-level code: all)."""
        candidates: list[ast.FunctionDef | ast.AsyncFunctionDef | None] = screen.memo[self.code]  # type: ignore[assignment]
        if any(function is None for function in candidates):
            return None
        return statements_holding(screen, [function.lineno for function in candidates])  # type: ignore[union-attr]

    @classmethod
    def may_match(cls, text: str) -> bool:
        return (
            ("grad" in text or "norm" in text)
            and _ROOT_TOKEN.search(text) is not None
            and _SQUARE_TOKEN.search(text) is not None
        )

    VALID = (
        Valid("import torch\nstd = ((x - x.mean()) ** 2).mean().sqrt()\n"),
        Valid("import torch\nvar = torch.sqrt(((grads - mean) ** 2).sum() / n)\n"),
        Valid("import torch\nrms = x.pow(2).mean(-1, keepdim=True).sqrt()\n"),
        Valid("import torch\nloss = ((pred - target) ** 2).sum()\n"),
        Valid("import torch\nl2 = sum((p ** 2).sum() for p in model.parameters())\n"),
        Valid("import math\nscale = math.sqrt(grad_dim)\n"),
        Valid("import torch\nnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n"),
        Valid("import torch\nmag = torch.sqrt(grad_x ** 2 + grad_y ** 2)\n"),
        Valid("import torch\ngn = torch.sqrt(torch.sum(gradients ** 2, dim=1) + 1e-12)\n"),
        Valid(
            "import torch\n"
            "def f(grads):\n"
            "    sq = sum(g.double().pow(2).sum() for g in grads)\n"
            "    return sq.sqrt()\n"
        ),
        Valid(
            "import torch.distributed as dist\n"
            "def f(grads, group):\n"
            "    sq = sum((g * g).sum() for g in grads)\n"
            "    dist.all_reduce(sq, group=group)\n"
            "    return sq.sqrt()\n"
        ),
        Valid(
            "def trust(p, grad):\n"
            "    w = p.pow(2).sum().sqrt()\n"
            "    g = grad.pow(2).sum().sqrt()\n"
            "    return w / g\n"
        ),
    )
    INVALID = (
        Invalid(
            "total = sum((g * g).sum() for g in grads).sqrt()\n",
            line=1,
            column=9,
            message="overflow to inf",
            expected_fix="import gradlint_runtime\n\ntotal = gradlint_runtime.total_norm(grads)\n",
        ),
        Invalid(
            "import torch\ntotal = torch.stack(norms).pow(2).sum().sqrt()\n",
            line=2,
            expected_fix="import torch\nimport gradlint_runtime\n\ntotal = gradlint_runtime.total_norm(norms)\n",
        ),
        Invalid(
            "import math\n"
            "total = math.sqrt(sum(p.grad.norm().item() ** 2 for p in params))\n",
            message="host-device sync per tensor",
            expected_fix=(
                "import math\nimport gradlint_runtime\n\n"
                "total = gradlint_runtime.total_norm([p.grad for p in params]).item()\n"
            ),
        ),
        Invalid(
            "import torch\ngn = torch.sqrt(torch.sum(p.grad ** 2))\n",
            expected_fix="import torch\nimport gradlint_runtime\n\ngn = gradlint_runtime.norm(p.grad)\n",
        ),
        Invalid(
            "def f(params, norm_type):\n"
            "    total = 0.0\n"
            "    for p in params:\n"
            "        total += p.grad.norm(norm_type).item() ** norm_type\n"
            "    return total ** (1.0 / norm_type)\n",
            line=4,
            message="N syncs",
            expected_fix=NO_FIX,
        ),
        Invalid(
            "def f(grads):\n"
            "    total = None\n"
            "    for g in grads:\n"
            "        sq = (g.float() * g.float()).sum()\n"
            "        total = sq if total is None else total + sq\n"
            "    return total.sqrt()\n",
            line=4,
            expected_fix=NO_FIX,
        ),
    )

    def begin_file(self, ctx: FileContext) -> None:
        super().begin_file(ctx)
        self._frames: list[_Frame] = [_Frame()]

    def end_file(self) -> None:
        if self._frames:
            self._analyse(self._frames.pop())

    # -- collecting events ------------------------------------------------------------------

    def _event(self, kind: str, node: cst.CSTNode) -> None:
        assert self.ctx is not None
        frame = self._frames[-1]
        frame.events.append((kind, node, self.ctx.current_statement(), frame.loops))

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._frames.append(_Frame())

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._analyse(self._frames.pop())

    def visit_For(self, node: cst.For) -> None:
        self._event("for", node)
        self._frames[-1].loops += 1

    def leave_For(self, original_node: cst.For) -> None:
        self._frames[-1].loops -= 1

    def visit_While(self, node: cst.While) -> None:
        self._frames[-1].loops += 1

    def leave_While(self, original_node: cst.While) -> None:
        self._frames[-1].loops -= 1

    def visit_Assign(self, node: cst.Assign) -> None:
        self._event("assign", node)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._event("assign", node)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._event("aug", node)

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        if isinstance(node.operator, cst.Power):
            self._event("root", node)
        elif isinstance(node.operator, cst.Divide):
            self._event("divide", node)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        last = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
        if last in ("sqrt", "sqrt_", "pow", "pow_"):
            self._event("root", node)
        elif "reduce" in last or "all_gather" in last:
            self._event("reduce", node)
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value == "create_graph":
                if not (isinstance(arg.value, cst.Name) and arg.value.value in ("False", "None")):
                    self._frames[-1].penalty = True

    # -- analysis ---------------------------------------------------------------------------

    def _resolve(self, dotted: str) -> str | None:
        assert self.ctx is not None
        return self.ctx.resolve(dotted)

    def _analyse(self, frame: _Frame) -> None:
        if frame.penalty or not frame.events:
            return
        env = Env()
        pending: list[tuple[str, str, Term | str | None]] = []
        current: cst.CSTNode | None = None
        candidates: list[_Candidate] = []
        host: dict[int, cst.CSTNode] = {}
        divided_names: set[str] = set()
        divided_nodes: set[int] = set()
        for kind, node, key, loops in frame.events:
            if key is not current:
                _flush(env, pending)
                current = key
            if kind == "divide":
                assert isinstance(node, cst.BinaryOperation)
                for operand in (node.left, node.right):
                    divided_nodes.add(id(operand))
                    if isinstance(operand, cst.Name):
                        divided_names.add(operand.value)
                continue
            origin = node if kind in ("assign", "aug") else key
            classifier = Classifier(env, self._resolve, origin)
            if kind == "for":
                # ``for g in grads``: the loop variable holds gradients too.
                assert isinstance(node, cst.For)
                if classifier.signal(node.iter) and isinstance(node.target, cst.Name):
                    pending.append(("taint", node.target.value, None))
            elif kind == "assign":
                self._assign(node, classifier, pending)  # type: ignore[arg-type]
            elif kind == "aug":
                self._aug(node, classifier, pending, loops, host)  # type: ignore[arg-type]
            elif kind == "reduce":
                assert isinstance(node, cst.Call)
                for arg in node.args:
                    if isinstance(arg.value, cst.Name):
                        stored = env.terms.get(arg.value.value)
                        if isinstance(stored, Term):
                            stored.reduced = True
            elif kind == "root":
                candidate = self._root(node, classifier, key)
                if candidate is not None:
                    candidates.append(candidate)
            for term in classifier.host_terms:
                if term.origin is not None:
                    host.setdefault(id(term.origin), term.origin)
        reported: set[int] = set()
        for candidate in candidates:
            origin_id = id(candidate.origin)
            if origin_id in reported:
                continue
            if _is_trust_ratio(candidate, divided_names, divided_nodes):
                continue
            reported.add(origin_id)
            template = _HOST_MESSAGE if candidate.term.host else _TENSOR_MESSAGE
            self.report(
                candidate.node,
                template.format(rt=self.runtime_module),
                fix=candidate.fix,
                statement=candidate.key if candidate.term.inline else None,
            )
        for origin_id, origin in host.items():
            if origin_id not in reported:
                reported.add(origin_id)
                self.report(origin, _HOST_MESSAGE.format(rt=self.runtime_module), statement=origin)

    def _assign(
        self, node: cst.Assign | cst.AnnAssign, classifier: Classifier, pending: list[tuple[str, str, Term | str | None]]
    ) -> None:
        value = node.value
        assert value is not None
        names = _target_names(node)
        if len(names) != 1:
            for name in names:
                pending.append(("del", name, None))
            return
        name = names[0]
        term = classifier.classify(value)
        if term is not None:
            if term.inline:
                term.origin = node
            pending.append(("bind", name, term))
        elif _is_zero(value, self._resolve):
            pending.append(("bind", name, ZERO))
        else:
            pending.append(("del", name, None))
        if classifier.holds_gradients_or_norms(value):
            pending.append(("taint", name, None))
        if classifier.holds_host_numbers(value):
            pending.append(("host", name, None))

    def _aug(
        self,
        node: cst.AugAssign,
        classifier: Classifier,
        pending: list[tuple[str, str, Term | str | None]],
        loops: int,
        host: dict[int, cst.CSTNode],
    ) -> None:
        if not isinstance(node.target, cst.Name):
            return
        name = node.target.value
        term = classifier.classify(node.value) if isinstance(node.operator, cst.AddAssign) else None
        if term is None or term.level == 2:
            pending.append(("del", name, None))
            return
        accumulated = Term(1, term.order, term.signal, fp64=term.fp64, host=term.host, inline=False, multi=True)
        accumulated.origin = node if term.inline else term.origin
        previous = classifier.env.terms.get(name)
        if isinstance(previous, Term):
            accumulated.signal = accumulated.signal or previous.signal
            accumulated.fp64 = accumulated.fp64 or previous.fp64
            accumulated.host = accumulated.host or previous.host
            accumulated.reduced = previous.reduced  # all-reduced partial sum plus local terms
            accumulated.origin = previous.origin or accumulated.origin
        if term.host and term.signal and loops > 0 and accumulated.origin is not None:
            host.setdefault(id(accumulated.origin), accumulated.origin)
        pending.append(("bind", name, accumulated))

    def _root(self, node: cst.CSTNode, classifier: Classifier, key: cst.CSTNode | None) -> _Candidate | None:
        root = as_root(node, self._resolve)
        if root is None:
            return None
        term = classifier.classify(root.inner)
        if term is None or term.level != 1 or not term.signal or term.fp64 or term.reduced:
            return None
        if term.inline:
            return _Candidate(root.node, key, term, root, key, self._fix(root, term))
        return _Candidate(term.origin or root.node, term.origin, term, root, key, None)

    # -- fixes ------------------------------------------------------------------------------

    def _fix(self, root: Root, term: Term) -> Fix | None:
        source = term.source
        if source is None or root.order != term.order:
            return None
        python = root.python or term.host or _is_python_number(root.inner)
        order = "" if term.order == "2" else f", {term.order}"
        if source[0] == "single":
            if term.host or term.multi:
                return None
            call = f"norm({code_of(source[1])}{order})"
        elif source[0] == "list":
            call = f"total_norm({code_of(source[1])}{order})"
        else:
            comp, base = source[1], source[2]
            if term.host and _strip_host(base) is base:
                return None  # Python numbers from elsewhere: no tensors to name
            tensors = self._tensors(comp, base, term.order, classifier_resolve=self._resolve)
            if tensors is None:
                return None
            call = f"total_norm({tensors}{order})"
        text = f"{self.runtime_module}.{call}" + (".item()" if python else "")
        try:
            replacement = cst.parse_expression(text)
        except cst.ParserSyntaxError:
            return None
        return Fix(
            "unsafe",
            f"Replace with `{self.runtime_module}.{call.partition('(')[0]}(...)`",
            ((root.node, replacement),),
            (ImportSpec(self.runtime_module),),
        )

    def _tensors(self, comp: cst.ListComp | cst.GeneratorExp, base: cst.BaseExpression, order: str, classifier_resolve) -> str | None:  # type: ignore[no-untyped-def]
        """The tensors a comprehension squares, spelled as the fix's argument."""
        core = _strip_host(base)
        classifier = Classifier(Env(), classifier_resolve, None)
        norm_of = classifier.is_norm_call(core)
        if norm_of is not None:
            assert isinstance(core, cst.Call)
            if classifier.norm_order(core) != order:
                return None
            core = norm_of
        elif core is not base:
            return None  # float(x) ** 2 of a non-norm scalar: not a tensor list we can name
        core = strip_calls(core, frozenset(_WRAPPERS))
        for_in = comp.for_in
        if (
            isinstance(core, cst.Name)
            and isinstance(for_in.target, cst.Name)
            and core.value == for_in.target.value
            and not for_in.ifs
            and for_in.asynchronous is None
        ):
            return code_of(for_in.iter)
        return code_of(cst.ListComp(elt=core, for_in=for_in))


def _strip_host(node: cst.BaseExpression) -> cst.BaseExpression:
    if isinstance(node, cst.Call):
        if isinstance(node.func, cst.Attribute) and node.func.attr.value == "item" and not node.args:
            return node.func.value
        if isinstance(node.func, cst.Name) and node.func.value == "float" and len(node.args) == 1:
            return node.args[0].value
    return node


def _is_python_number(node: cst.BaseExpression) -> bool:
    return _strip_host(node) is not node


def _target_names(node: cst.Assign | cst.AnnAssign) -> list[str]:
    targets = [node.target] if isinstance(node, cst.AnnAssign) else [t.target for t in node.targets]
    names: list[str] = []
    for target in targets:
        if isinstance(target, cst.Name):
            names.append(target.value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            names.extend(e.value.value for e in target.elements if isinstance(e.value, cst.Name))
            names.append("")  # more than one target: never a single binding
    return names


def _is_zero(value: cst.BaseExpression, resolve) -> bool:  # type: ignore[no-untyped-def]
    if number(value) == 0.0 or (isinstance(value, cst.Name) and value.value == "None"):
        return True
    if isinstance(value, cst.Call):
        name = dotted_name(value.func)
        qualified = resolve(name) if name is not None else None
        if qualified in _ZERO_FACTORIES:
            return qualified != "torch.tensor" or (bool(value.args) and number(value.args[0].value) == 0.0)
    return False


def _flush(env: Env, pending: list[tuple[str, str, Term | str | None]]) -> None:
    for action, name, value in pending:
        if action == "bind":
            env.terms[name] = value  # type: ignore[assignment]
        elif action == "del":
            env.terms.pop(name, None)
            env.tainted.discard(name)
            env.host.discard(name)
        elif action == "host":
            env.host.add(name)
        else:
            env.tainted.add(name)
    pending.clear()


def _is_trust_ratio(candidate: _Candidate, names: set[str], nodes: set[int]) -> bool:
    """A single-tensor root divided by (or dividing) another value: a LAMB-style ratio."""
    term = candidate.term
    if term.multi or term.host:
        return False
    if id(candidate.root.node) in nodes:
        return True
    key = candidate.key
    if isinstance(key, cst.SimpleStatementLine) and key.body:
        statement = key.body[0]
        if isinstance(statement, (cst.Assign, cst.AnnAssign)):
            targets = _target_names(statement)
            return len(targets) == 1 and targets[0] in names
    return False


# Supersets, as text, of what ``_has_norm_shape`` looks for.
_ROOTISH = re.compile(r"sqrt|\*\*|pow")
_POWERISH = re.compile(r"\*|pow|square")
_SIGNALISH = re.compile(r"grad|norm", re.IGNORECASE)


def _has_norm_shape(nodes: Iterator[ast.AST]) -> bool:
    """A root, a power and a gradient/norm identifier among one scope's nodes."""
    root = power = signal = False
    for node in nodes:
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.Pow):
                power = True
                root = root or _ast_root_exponent(node.right)
            elif isinstance(node.op, ast.Mult) and _ast_same(node.left, node.right):
                power = True
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name in ("sqrt", "sqrt_"):
                root = True
            elif name in ("pow", "pow_"):
                power = True
                root = root or any(_ast_root_exponent(arg) for arg in node.args)
            elif name in ("square", "square_"):
                power = True
        if not signal:
            if isinstance(node, ast.Name):
                signal = is_signal_identifier(node.id)
            elif isinstance(node, ast.Attribute):
                signal = is_signal_identifier(node.attr)
            elif isinstance(node, ast.arg):
                signal = is_signal_identifier(node.arg)
        if root and power and signal:
            return True
    return False


def _ast_root_exponent(node: ast.expr) -> bool:
    """``0.5`` or ``1 / p`` (any ``p``): the exponent of a root."""
    if isinstance(node, ast.Constant) and node.value == 0.5:
        return True
    return (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Div)
        and isinstance(node.left, ast.Constant)
        and node.left.value == 1
    )


def _ast_same(left: ast.expr, right: ast.expr) -> bool:
    """``x * x``: both operands spell the same non-literal expression."""
    if type(left) is not type(right) or isinstance(left, ast.Constant):
        return False
    if isinstance(left, ast.Name):
        return left.id == right.id  # type: ignore[attr-defined]
    return ast.dump(left) == ast.dump(right)
