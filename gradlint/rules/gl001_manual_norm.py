"""GL001 manual-norm."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from gradlint.options import RUNTIME_AVAILABLE_OPTION, RUNTIME_MODULE_OPTION
from gradlint.rule import NO_FIX, Fix, ImportSpec, Invalid, NodeEdit, Rule, Valid
from gradlint.rules._norm_shapes import (
    GRADIENT,
    NORM,
    PARAMETER,
    TENSOR,
    ZERO,
    Classifier,
    Env,
    Root,
    Term,
    as_root,
    host_inner,
    method_name,
    number,
)
from gradlint.rules._triggers import has_self_product
from gradlint.semantic import Kind
from gradlint.semantic.syntax import dotted_name as _dotted

_ROOT_METHODS = frozenset({"sqrt", "sqrt_", "pow", "pow_"})
_ZERO_FACTORIES = frozenset({"torch.zeros", "torch.zeros_like", "torch.tensor", "torch.scalar_tensor"})
_REDUCE_WORDS = ("all_reduce", "reduce_scatter", "all_gather")
# A condition around an all-reduce that says "when distributed" (not a caller's flag).
_DISTRIBUTED_WORDS = ("world", "distributed", "dist", "ddp", "fsdp", "rank", "shard", "parallel", "group")

_ROOT = "Norm computed by hand from squares; use `{fn}()`"
_ROOT_NO_RUNTIME = "Norm computed by hand from squares (overflow, underflow)"
_HOST = "Norm built from per-tensor `.item()` values: N host syncs; use `total_norm()`"
_HOST_NO_RUNTIME = "Norm built from per-tensor `.item()` values: N host syncs"
_ESCAPE = "Squared total norm leaves the function; keep the norm instead"
_HYPOT = "Norms combined by adding squares; use `math.hypot()`"
_PAIR = "Norms combined by adding squares; use `total_norm([a, b])`"
_PAIR_NO_RUNTIME = "Norms combined by adding squares (overflow, underflow)"

_SIGNALS = (GRADIENT, NORM, PARAMETER)


@dataclass(slots=True)
class _Frame:
    """Events of one function body (or the module body), in source order."""

    events: list[tuple[str, ast.AST, ast.AST | None, int]] = field(default_factory=list)
    loops: int = 0
    penalty: bool = False  # double backward (``create_graph=True``): a gradient penalty
    divided: set[str] = field(default_factory=set)
    divided_nodes: set[int] = field(default_factory=set)


@dataclass(slots=True)
class _Candidate:
    node: ast.AST
    message: str
    fix: Fix | None


class ManualNorm(Rule):
    """
    ## What it does
    Flags a norm of gradients, of per-tensor norms or of a collection of tensors computed by
    hand from squares, in any spelling (`x * x`, `x ** 2`, `x.pow(2)`, `torch.square(x)`;
    `.sum()`, `torch.sum`, builtin `sum`, `+=`, `.add_()`; `.sqrt()`, `torch.sqrt`,
    `math.sqrt`, `np.sqrt`, `** 0.5`, `** (1 / p)`). The finding sits where the squared sum is
    formed, whether the root is taken in the same expression, later in the function, in
    another function or method that receives the value, or never:

    - a root of a sum of squares of gradients, norms or parameters (`torch.sqrt(sum(...))`,
      a sum assigned and rooted later, `+=` / `.add_()` in a loop, a list of squares summed
      later, `torch.stack(norms).pow(2).sum().sqrt()`), and of any collection of tensors
      summed tensor by tensor;
    - a squared total norm of gradients or norms that leaves the function (returned, stored
      on `self`, in a mapping or in a record) to be rooted elsewhere or never;
    - per-tensor `.item()`/`float()` values squared and accumulated (N host syncs), also
      when the total is all-reduced before the root;
    - two or more norms combined as `sqrt(a * a + b * b)`.

    What a value is comes from the semantic model (a `.grad`, a `.norm()`, an element of
    `model.parameters()`, a loop variable over a list of gradients, a value stored in a
    mapping of norms, an annotation), never from identifiers. Silent on structure: a mean
    subtracted, `.mean()` or a sum over a `dim`, a division by a count before the root, an
    epsilon inside the root, an all-reduce before the root (the distributed form; unless a
    caller's flag rather than the world size decides whether it runs), squares in float64,
    functions with `create_graph=True` (gradient penalties), LAMB trust ratios (a single
    tensor's root divided by another), the root of one squared value, squared sums that are
    scaled, compared or added to a loss, squares of parameters that are not rooted (L2
    penalties), and magnitudes of two elementwise fields (`sqrt(gx ** 2 + gy ** 2)`).

    ## Why is this bad
    Squaring in float32 overflows to `inf` once an element passes ~1.8e19, float16/bfloat16
    norms above 256 overflow when squared, elements below ~1e-19 underflow to 0; one kernel is
    launched per tensor, and the `.item()` form forces one host-device sync per tensor.

    ## Example
    ```python
    total = sum((g * g).sum() for g in grads).sqrt()
    ```

    ## Use instead
    ```python
    import gradlint_runtime

    total = gradlint_runtime.total_norm(grads)
    ```

    Keep norms, not squared norms: return `total_norm(...)` and combine two norms with
    `total_norm([a, b])` (tensors) or `math.hypot(a, b)` (Python numbers).

    ## Fix safety
    Unsafe: the result changes exactly where the hand-written form was wrong (no more `inf` or
    0), the result dtype is float32 for half-precision inputs, the runtime's norms are computed
    without autograd (nothing backpropagates through them), and `math.hypot` can differ from
    `math.sqrt(a * a + b * b)` in the last bit. `total_norm` reads a parameter (or a leaf
    tensor that requires grad) through its `.grad`, so values not known to be gradients or norms
    are passed detached (`[t.detach() for t in xs]`): the fixed code sums the same values.
    Canonical single-expression shapes are rewritten to `total_norm(<tensors>)` or
    `norm(<tensor>)` (keeping `.item()` where the original gave a Python number); two or more Python-number norms to `math.hypot(a, b, ...)`, two norm tensors
    to `total_norm([a, b])`. Shapes spread over several statements, and squared totals that
    leave the function, are reported without a fix.

    When the project cannot import the runtime (`runtime-available` is false: it declares no
    `gradlint-runtime` dependency and sets no `runtime-module`), no fix that imports the runtime
    is offered: the finding stays, with the advice, and only the self-contained `math.hypot`
    fix remains.

    ## Options
    - `runtime-module`: the module fixes import runtime helpers from (default `gradlint_runtime`).
    - `runtime-available`: whether fixes may import that module (computed from the project).
    """

    code = "GL001"
    name = "manual-norm"
    summary = "Gradient norm computed by hand (overflow, underflow, host syncs)"
    OPTIONS = (RUNTIME_MODULE_OPTION, RUNTIME_AVAILABLE_OPTION)
    # A square (``**``, ``pow(``, ``square(``, ``x * x``) and a value that can be a gradient,
    # a norm (``.grad``, ``norm``) or a root (``sqrt``, ``pow``, ``** 0.5``, ``** (1 / p)``:
    # a root of any tensors' squared sums is reported too) somewhere in the file.
    TRIGGER = re.compile(r"grad|norm|sqrt|pow|\*\*[\s(+-]*(?:\d[\d_]*)?(?:\.|[eE]|\s*/)")

    @classmethod
    def may_match(cls, text: str) -> bool:
        if cls.TRIGGER.search(text) is None:
            return False
        return "**" in text or "pow(" in text or "square(" in text or has_self_product(text)

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
        Valid(
            "def penalty(model, coefficient):\n"
            "    grads = [p.grad for p in model.parameters()]\n"
            "    return coefficient * sum(g.pow(2).sum() for g in grads)\n"
        ),
    )
    INVALID = (
        Invalid(
            "total = sum((g * g).sum() for g in grads).sqrt()\n",
            line=1,
            column=9,
            message="by hand from squares",
            expected_fix="import gradlint_runtime\n\ntotal = gradlint_runtime.total_norm([g.detach() for g in grads])\n",
        ),
        Invalid(
            "import torch\ntotal = torch.stack(norms).pow(2).sum().sqrt()\n",
            line=2,
            expected_fix="import gradlint_runtime\nimport torch\n\ntotal = gradlint_runtime.total_norm([t.detach() for t in norms])\n",
        ),
        Invalid(
            "import math\n"
            "total = math.sqrt(sum(p.grad.norm().item() ** 2 for p in params))\n",
            message="N host syncs",
            expected_fix=(
                "import math\n\nimport gradlint_runtime\n\n"
                "total = gradlint_runtime.total_norm([p.grad for p in params]).item()\n"
            ),
        ),
        Invalid(
            "import torch\ngn = torch.sqrt(torch.sum(p.grad ** 2))\n",
            expected_fix="import gradlint_runtime\nimport torch\n\ngn = gradlint_runtime.norm(p.grad)\n",
        ),
        Invalid(
            "def f(params, norm_type):\n"
            "    total = 0.0\n"
            "    for p in params:\n"
            "        total += p.grad.norm(norm_type).item() ** norm_type\n"
            "    return total ** (1.0 / norm_type)\n",
            line=4,
            message="N host syncs",
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
        Invalid(
            "import torch\n"
            "def collect(model):\n"
            "    norms = [p.grad.norm() for p in model.parameters()]\n"
            "    return {'sq': torch.stack(norms).pow(2).sum()}\n",
            line=4,
            message="leaves the function",
            expected_fix=NO_FIX,
        ),
        Invalid(
            "import math\n"
            "def combined(host, seed):\n"
            "    a = host.grad.norm().item()\n"
            "    b = seed.grad.norm().item()\n"
            "    return math.sqrt(a * a + b * b)\n",
            line=5,
            message="math.hypot",
            expected_fix=(
                "import math\n"
                "def combined(host, seed):\n"
                "    a = host.grad.norm().item()\n"
                "    b = seed.grad.norm().item()\n"
                "    return math.hypot(a, b)\n"
            ),
        ),
        Invalid(
            "total = sum((g * g).sum() for g in grads).sqrt()\n",
            message="(overflow, underflow)",
            expected_fix=NO_FIX,
            options={"runtime-available": False},
        ),
    )

    # -- per file ---------------------------------------------------------------------------

    def begin_file(self, model: Any, info: Any) -> None:
        super().begin_file(model, info)
        self._frames: list[_Frame] = [_Frame()]
        self._runtime = bool(self.options.get("runtime-available", True))

    def end_file(self) -> None:
        if self._frames:
            self._analyse(self._frames.pop())
        super().end_file()

    # -- collecting events (during the one walk) ---------------------------------------------

    def _event(self, kind: str, node: ast.AST) -> None:
        frame = self._frames[-1]
        frame.events.append((kind, node, self.model.statement, frame.loops))

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._frames.append(_Frame())

    def leave_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._analyse(self._frames.pop())

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]
    leave_AsyncFunctionDef = leave_FunctionDef  # type: ignore[assignment]

    def visit_For(self, node: ast.For) -> None:
        self._frames[-1].loops += 1

    def leave_For(self, node: ast.For) -> None:
        self._frames[-1].loops -= 1

    visit_AsyncFor = visit_For  # type: ignore[assignment]
    leave_AsyncFor = leave_For  # type: ignore[assignment]
    visit_While = visit_For  # type: ignore[assignment]
    leave_While = leave_For  # type: ignore[assignment]

    def visit_Assign(self, node: ast.Assign) -> None:
        self._event("assign", node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self._event("assign", node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._event("aug", node)

    def visit_Return(self, node: ast.Return) -> None:
        if node.value is not None:
            self._event("escape", node.value)

    def visit_Yield(self, node: ast.Yield) -> None:
        if node.value is not None:
            self._event("escape", node.value)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        if isinstance(node.op, ast.Pow):
            self._event("root", node)
        elif isinstance(node.op, ast.Div):
            frame = self._frames[-1]
            for operand in (node.left, node.right):
                frame.divided_nodes.add(id(operand))
                if isinstance(operand, ast.Name):
                    frame.divided.add(operand.id)

    def visit_Call(self, node: ast.Call) -> None:
        name = method_name(node)
        if name in _ROOT_METHODS:
            self._event("root", node)
        elif name == "add_" and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name) and len(node.args) == 1 and not node.keywords:
            self._event("add_", node)
        elif any(word in name for word in _REDUCE_WORDS):
            self._event("reduce", node)
        elif name[:1].isupper() or name == "dict":
            self._event("record", node)
        for keyword in node.keywords:
            if keyword.arg == "create_graph" and not (
                isinstance(keyword.value, ast.Constant) and keyword.value.value in (False, None)
            ):
                self._frames[-1].penalty = True

    # -- analysis (once per function, in source order) ---------------------------------------

    def _analyse(self, frame: _Frame) -> None:
        if frame.penalty or not frame.events:
            return
        env = Env()
        classifier = Classifier(env, self.model)
        pending: list[tuple[str, str, Any]] = []
        current: ast.AST | None = None
        self._candidates: dict[int, _Candidate] = {}
        self._frame = frame
        for kind, node, statement, loops in frame.events:
            if statement is not current:
                _flush(env, pending)
                current = statement
            classifier.origin = statement
            if kind == "assign":
                self._assign(node, classifier, pending)  # type: ignore[arg-type]
            elif kind == "aug":
                aug = node
                assert isinstance(aug, ast.AugAssign)
                if isinstance(aug.target, ast.Name):
                    self._accumulate(aug.target.id, aug.value if isinstance(aug.op, ast.Add) else None, aug, classifier, pending, loops)
            elif kind == "add_":
                assert isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                target = node.func.value
                assert isinstance(target, ast.Name)
                self._accumulate(target.id, node.args[0], node, classifier, pending, loops)
            elif kind == "reduce":
                self._reduce(node, env)  # type: ignore[arg-type]
            elif kind == "root":
                self._root(node, classifier)
            elif kind == "escape":
                self._escape(node, classifier)  # type: ignore[arg-type]
            elif kind == "record":
                assert isinstance(node, ast.Call)
                for value in [*node.args, *(keyword.value for keyword in node.keywords)]:
                    self._escape(value, classifier)
        for candidate in self._candidates.values():
            self.report(candidate.node, candidate.message, fix=candidate.fix)

    def _candidate(self, origin: ast.AST | None, node: ast.AST, message: str, fix: Fix | None = None) -> None:
        key = id(origin if origin is not None else node)
        found = self._candidates.get(key)
        if found is None or (found.fix is None and fix is not None):
            self._candidates[key] = _Candidate(node, message, fix)

    def _assign(self, node: ast.Assign | ast.AnnAssign, classifier: Classifier, pending: list[tuple[str, str, Any]]) -> None:
        value = node.value
        assert value is not None
        targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
        term = None
        for target in targets:
            if isinstance(target, ast.Subscript):
                name = _dotted(target.value)
                if name is not None:
                    classifier.env.stores.setdefault(name, []).append(value)
                self._escape(value, classifier)
            elif isinstance(target, ast.Attribute):
                self._escape(value, classifier)
        names = [t.id for t in targets if isinstance(t, ast.Name)]
        if len(targets) != 1 or len(names) != 1:
            for target in targets:
                for child in ast.walk(target):
                    if isinstance(child, ast.Name):
                        pending.append(("del", child.id, None))
            return
        name = names[0]
        term = classifier.classify(value)
        if term is not None:
            if term.inline and term.origin is None:
                term.origin = node
            pending.append(("bind", name, term))
            self._host_norm(term, node)
        elif self._is_zero(value):
            pending.append(("bind", name, ZERO))
        else:
            pending.append(("del", name, None))

    def _accumulate(
        self,
        name: str,
        value: ast.expr | None,
        node: ast.AST,
        classifier: Classifier,
        pending: list[tuple[str, str, Any]],
        loops: int,
    ) -> None:
        term = classifier.classify(value) if value is not None else None
        if term is None or term.level == 2:
            pending.append(("del", name, None))
            return
        accumulated = Term(
            1, term.order, term.signal, fp64=term.fp64, host=term.host, inline=False, multi=True,
            python=term.python,
        )
        accumulated.origin = node if term.inline else term.origin
        previous = classifier.env.terms.get(name)
        if isinstance(previous, Term):
            accumulated.signal = accumulated.signal or previous.signal
            accumulated.fp64 = accumulated.fp64 or previous.fp64
            accumulated.host = accumulated.host or previous.host
            accumulated.reduced = previous.reduced  # an all-reduced partial sum plus local terms
            accumulated.origin = previous.origin or accumulated.origin
        elif previous is None and loops == 0:
            pending.append(("del", name, None))
            return
        pending.append(("bind", name, accumulated))
        if loops > 0 or accumulated.host:
            self._host_norm(accumulated, node)

    def _host_norm(self, term: Term, node: ast.AST) -> None:
        """Per-tensor ``.item()`` norms squared and summed: a norm being built, N syncs."""
        if term.host and term.multi and term.level == 1 and term.signal == NORM and not term.fp64:
            self._candidate(term.origin, term.origin or node, self._host_message())

    def _reduce(self, node: ast.Call, env: Env) -> None:
        if not self._always_runs(node):
            return
        for arg in node.args:
            if isinstance(arg, ast.Name):
                stored = env.terms.get(arg.id)
                if isinstance(stored, Term):
                    stored.reduced = True

    def _always_runs(self, node: ast.AST) -> bool:
        """An all-reduce that runs whenever the code is distributed (not behind a caller's flag)."""
        for ancestor in self.model.ancestors(node):
            if isinstance(ancestor, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.Module)):
                return True
            if isinstance(ancestor, ast.If):
                test = ast.unparse(ancestor.test).lower() if _small(ancestor.test) else ""
                if not any(word in test for word in _DISTRIBUTED_WORDS):
                    return False
        return True

    def _escape(self, value: ast.expr, classifier: Classifier) -> None:
        """A squared total of gradients or norms that leaves the function."""
        if isinstance(value, ast.Dict):
            for item in value.values:
                self._escape(item, classifier)
            return
        if isinstance(value, ast.Tuple):
            for item in value.elts:
                self._escape(item, classifier)
            return
        if isinstance(value, ast.Call) and (method_name(value)[:1].isupper() or method_name(value) == "dict"):
            return  # a record built here: its arguments are "record" events of their own
        term = classifier.classify(value)
        if term is None or term.level != 1 or not term.multi or term.fp64 or term.reduced:
            return
        if term.signal not in (GRADIENT, NORM):
            return
        origin = term.origin if term.origin is not None else value
        message = self._host_message() if term.host else _ESCAPE
        self._candidate(origin, origin, message)

    def _root(self, node: ast.AST, classifier: Classifier) -> None:
        root = as_root(node, self.model)
        if root is None:
            return
        term = classifier.classify(root.inner)
        if term is None or term.level != 1 or term.fp64:
            return
        if term.reduced:
            if term.host and term.multi and term.signal in _SIGNALS:
                self._candidate(term.origin, term.origin or root.node, self._host_message())
            return
        if term.parts is not None:
            self._pair(root, term)
            return
        signal = term.signal
        if not (signal in _SIGNALS or (signal == TENSOR and term.multi)):
            return
        if not term.multi and not term.host and self._is_trust_ratio(root, classifier):
            return
        if term.host and term.multi:
            message = self._host_message()
        elif self._runtime:
            message = _ROOT.format(fn="total_norm" if term.multi else "norm")
        else:
            message = _ROOT_NO_RUNTIME
        if term.inline:
            self._candidate(term.origin, root.node, message, self._fix(root, term))
        else:
            self._candidate(term.origin, term.origin or root.node, message)

    def _host_message(self) -> str:
        return _HOST if self._runtime else _HOST_NO_RUNTIME

    def _is_trust_ratio(self, root: Root, classifier: Classifier) -> bool:
        """A single-tensor root divided by (or dividing) another value: a LAMB-style ratio."""
        frame = self._frame
        if id(root.node) in frame.divided_nodes:
            return True
        statement = classifier.origin
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name):
            return statement.targets[0].id in frame.divided
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            return statement.target.id in frame.divided
        return False

    def _pair(self, root: Root, term: Term) -> None:
        """``sqrt(a * a + b * b)`` of norms: ``math.hypot`` or ``total_norm([a, b])``."""
        parts = term.parts or ()
        if root.order != "2" or term.order != "2":
            return
        segments = [self.model.source_segment(part) for part in parts]
        if any(segment is None for segment in segments):
            return
        if term.python:
            module = self._math_spelling(root)
            call = f"{module or 'math'}.hypot({', '.join(segments)})"  # type: ignore[arg-type]
            imports = () if module else (ImportSpec("math"),)
            fix = _expression_fix(root.node, call, "Replace with `math.hypot(...)`", imports)
            self._candidate(term.origin, root.node, _HYPOT, fix)
            return
        if not self._runtime:
            self._candidate(term.origin, root.node, _PAIR_NO_RUNTIME)
            return
        call = f"{self.runtime_module}.total_norm([{', '.join(segments)}])" + (".item()" if root.python else "")  # type: ignore[arg-type]
        fix = _expression_fix(
            root.node, call, f"Replace with `{self.runtime_module}.total_norm([...])`", (ImportSpec(self.runtime_module),)
        )
        self._candidate(term.origin, root.node, _PAIR, fix)

    def _math_spelling(self, root: Root) -> str | None:
        """The name ``math`` is bound to where the root is ``<name>.sqrt`` of math."""
        node = root.node
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
            if self.model.qualified_name(node.func) in ("math.sqrt", "math.pow"):
                return node.func.value.id
        return None

    def _is_zero(self, value: ast.expr) -> bool:
        if number(value) == 0.0 or (isinstance(value, ast.Constant) and value.value is None):
            return True
        if isinstance(value, ast.Call):
            qualified = self.model.qualified_name(value.func)
            if qualified in _ZERO_FACTORIES:
                return qualified != "torch.tensor" or (bool(value.args) and number(value.args[0]) == 0.0)
        return False

    # -- fixes ------------------------------------------------------------------------------

    def _fix(self, root: Root, term: Term) -> Fix | None:
        if not self._runtime:
            return None
        source = term.source
        if source is None or root.order != term.order:
            return None
        python = root.python or term.python
        order = "" if term.order == "2" else f", {term.order}"
        if source[0] == "single":
            if term.host or term.multi:
                return None
            base = self.model.source_segment(source[1])
            if base is None:
                return None
            call = f"norm({base}{order})"
        elif source[0] == "list":
            listed = self.model.source_segment(source[1])
            if listed is None:
                return None
            if term.signal not in (GRADIENT, NORM):
                listed = f"[t.detach() for t in {listed}]"  # see _tensors
            call = f"total_norm({listed}{order})"
        else:
            comp, base = source[1], source[2]
            if term.python and host_inner(base) is None:
                return None  # Python numbers from elsewhere: no tensors to name
            tensors = self._tensors(comp, base, term.order, term.signal)
            if tensors is None:
                return None
            call = f"total_norm({tensors}{order})"
        replacement = f"{self.runtime_module}.{call}" + (".item()" if python else "")
        return _expression_fix(
            root.node,
            replacement,
            f"Replace with `{self.runtime_module}.{call.partition('(')[0]}(...)`",
            (ImportSpec(self.runtime_module),),
        )

    def _tensors(self, comp: ast.ListComp | ast.GeneratorExp, base: ast.expr, order: str, signal: str | None) -> str | None:
        """The tensors a comprehension squares, spelled as the fix's argument.

        ``total_norm`` reads a parameter, or a leaf tensor that requires grad, through its
        ``.grad``: values not known to be gradients or norms are passed detached, so that the
        fixed code sums the same values.
        """
        classifier = Classifier(Env(), self.model)
        core = host_inner(base) or base
        norm_of = classifier.norm_argument(core)
        if norm_of is not None:
            assert isinstance(core, ast.Call)
            if classifier.norm_order(core) != order:
                return None
            core = norm_of
        elif core is not base:
            return None  # float(x) ** 2 of a non-norm scalar: not a tensor list we can name
        stripped = classifier.strip(core)
        if self.model.kind(stripped) is not Kind.PARAMETER:
            core = stripped
        detach = signal not in (GRADIENT, NORM) and not _detached(core)
        generator = comp.generators[0]
        if (
            not detach
            and isinstance(core, ast.Name)
            and isinstance(generator.target, ast.Name)
            and core.id == generator.target.id
            and not generator.ifs
            and not generator.is_async
        ):
            return self.model.source_segment(generator.iter)
        element = self.model.source_segment(core)
        last = generator.ifs[-1] if generator.ifs else generator.iter
        clauses = _between(self.model, comp.elt, last)
        if element is None or clauses is None:
            return None
        if detach:
            element = f"{element}.detach()" if _atomic(core) else f"({element}).detach()"
        return f"[{element}{clauses}]"


def _detached(node: ast.expr) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "detach"


def _atomic(node: ast.expr) -> bool:
    return isinstance(node, (ast.Name, ast.Attribute, ast.Call, ast.Subscript))


def _between(model: Any, first: ast.AST, last: ast.AST) -> str | None:
    """The source from the end of ``first`` to the end of ``last`` (balanced brackets only)."""
    span = SimpleNamespace(
        lineno=first.end_lineno, col_offset=first.end_col_offset, end_lineno=last.end_lineno, end_col_offset=last.end_col_offset
    )
    segment = model.source_segment(span)  # type: ignore[arg-type]
    if segment is None:
        return None
    for opening, closing in ("()", "[]", "{}"):
        if segment.count(opening) != segment.count(closing):
            return None
    return segment


def _small(node: ast.AST) -> bool:
    return (getattr(node, "end_lineno", 0) or 0) - (getattr(node, "lineno", 0) or 0) < 3




def _expression_fix(node: ast.AST, replacement: str, description: str, imports: tuple[ImportSpec, ...]) -> Fix | None:
    """A fix that replaces ``node`` by the expression ``replacement`` (parsed with libcst only
    when the fix is applied)."""
    try:
        ast.parse(replacement, mode="eval")
    except SyntaxError:
        return None
    return Fix("unsafe", description, (NodeEdit(node, _builder(replacement)),), imports=imports)


def _builder(replacement: str):  # type: ignore[no-untyped-def]
    def build(original):  # type: ignore[no-untyped-def]
        import libcst as cst

        new = cst.parse_expression(replacement)
        lpar = getattr(original, "lpar", ())
        if lpar:
            new = new.with_changes(lpar=lpar, rpar=original.rpar)
        return new

    return build


def _flush(env: Env, pending: list[tuple[str, str, Any]]) -> None:
    for action, name, value in pending:
        if action == "bind":
            env.terms[name] = value
        else:
            env.terms.pop(name, None)
    pending.clear()
