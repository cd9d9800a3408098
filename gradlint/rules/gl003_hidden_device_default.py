"""GL003 hidden-device-default."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gradlint import options as _options
from gradlint.options import RUNTIME_MODULE_OPTION
from gradlint.rule import NO_FIX, Fix, ImportSpec, Invalid, NodeEdit, Rule, Valid
from gradlint.rules._gl003_flow import (
    MODULE,
    TENSOR,
    ClassFacts,
    Decision,
    FunctionFlow,
    Source,
    annotation_info,
    check_function,
    class_convention,
    delegation_fact,
    is_cuda_path,
    literal_defaults,
    mover_fact,
    record_class_fact,
)
from gradlint.positions import split_lines
from gradlint.suppression import is_suppressed, line_suppressions

# A literal device default; or a constructor moving something onto ``self.<x>device`` (a base
# class whose subclasses may hand it the caller's module with their own literal default).
_TRIGGER = re.compile(
    r"device\s*(?::[^=\n]*)?=\s*(?:[\"'](?:cpu|cuda|mps|xpu)|(?:\w+\.)*device\(\s*[\"'](?:cpu|cuda|mps|xpu))"
    r"|\.to\(\s*(?:device\s*=\s*)?self\.\w*device\b"
)
_RUNTIME_AVAILABLE = getattr(_options, "RUNTIME_AVAILABLE_OPTION", None)
_TARGET_VERSION = getattr(_options, "TARGET_VERSION_OPTION", None)
_PY_MINOR = re.compile(r"py3(\d+)")
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


@dataclass(slots=True)
class _Class:
    node: ast.ClassDef
    facts: ClassFacts
    methods: list[ast.FunctionDef | ast.AsyncFunctionDef] = field(default_factory=list)
    pending: list[ast.FunctionDef | ast.AsyncFunctionDef] = field(default_factory=list)


class HiddenDeviceDefault(Rule):
    """
    ## What it does
    Flags a `device` (or `*_device`) parameter whose default is a literal device (`"cpu"`,
    `"cuda"`, `"cuda:0"`, `"mps"`, `"xpu"`, `torch.device("cpu")`) when the function uses
    that device where it meets the caller's tensors, found by following the values:

    - a tensor created or moved onto the device is combined with the caller's tensors
      (arithmetic, a `torch` call, `grad.add_(noise)`, `model(x.to(device))`), or with a
      tensor the object holds (`torch.outer(steps, self.inv_freq)`);
    - a tensor computed from the caller's tensors leaves on the device (`return
      torch.stack(norms).to(device)`, a factory sized by them such as
      `torch.zeros(len(params), device=device)`), or is stored on `self` next to them;
    - the caller's module is moved (`model.to(device)`, also as `self.model.to(self.device)`
      or through `super().__init__(device=device)` and `self.device`), or handed to the base
      class together with the device (`super().__init__(model, device=device)`); where the
      base class is in another file and the forwarded parameter is not annotated, the project
      step finds it: each file records which constructors move which parameter onto their
      device, and a subclass forwarding that parameter with its own literal default is
      reported there (no fix; files are read for this only when their text has a literal
      device default or a `.to(self.<x>device)` move).

    What is "the caller's tensors" is decided from the code, never from a parameter's name:
    annotations (`torch.Tensor`, `nn.Module`, `Iterable[nn.Parameter]`, `*Module` classes)
    and uses (`p.grad` on the elements, `.parameters()`, torch-only tensor methods such as
    `.detach()` or `.norm()`, a bare `x.to(device)` statement, which only moves modules). A
    callable, a mapping (`**params`, `.items()`, `x["key"]`), a config object, a
    `torch.Size` and anything unknown are not tensor sources.

    Silent where the default is deliberate:
    - the function only moves the caller's own tensors (`x.to(device)`, `[t.to(device) for t
      in ts]`): the destination cannot be inferred from what is moved; builders that create
      a new model, env or buffer on the device; functions with no tensor inputs;
    - host destinations: names with offload, save, checkpoint, state_dict, serial, buffer,
      replay, EMA/SWA/averaged, pin, dump (function, class or parameter), "host" only where it
      names a destination (`to_host`, `host_buffer`, `host_device`, not `host_parameters`,
      which in model-grafting code is the host *model*), and bodies that call `.cpu()`,
      `.numpy()` or `.pin_memory()`;
    - the only accepted value is the default's device type: an `assert` or `if ...: raise`
      on the parameter that names only that type, a CUDA-only API (`torch.cuda.Stream`,
      `torch.cuda.synchronize`, ...; probes such as `is_available` do not count), or a
      `"cuda"` default in a function, class or file named for CUDA/GPU;
    - library conventions: a device parameter that is only forwarded to the base class
      (`super().__init__(collect_device=collect_device)`: the base class documents the
      default for every sibling) is not a use; and when three or more methods of one class
      share the same parameter with the same literal default, the class documents one device
      contract (anchor generators that put every result on `device="cuda"`) and is left alone.

    ## Why is this bad
    A caller who forgets the argument silently gets CPU tensors next to CUDA gradients, or its
    CUDA model moved to the CPU: a copy, a host sync, or a device-mismatch error far from the
    cause. The device is knowable from the tensors themselves.

    ## Example
    ```python
    def collect(params, device="cpu"):
        return torch.stack([p.grad.norm() for p in params]).to(device)
    ```

    ## Use instead
    ```python
    def collect(params, device=None):
        if device is None:
            if iter(params) is params:
                params = list(params)
            device = gradlint_runtime.infer_device(params)
        return torch.stack([p.grad.norm() for p in params]).to(device)
    ```

    ## Fix safety
    Unsafe: callers relying on the literal default now get the inputs' device. The default
    becomes `None` (the annotation widened with `| None` where the file has `from __future__
    import annotations` or `target-version` is py310 or later, else `Optional[...]`) and the body,
    after the docstring, infers the device from an argument known to hold tensors:
    - a tensor: `device = x.device`; a tensor held on `self`: `device = self.x.device`;
    - a module: `gradlint_runtime.infer_device(model)` (its parameters, then buffers);
    - a collection of tensors or parameters: `gradlint_runtime.infer_device(params)`, which
      refuses one-shot iterators rather than consuming them; so a collection that may be one
      (annotated `Iterable`, or not annotated) is first turned into a list **only if it is an
      iterator** (`if iter(params) is params: params = list(params)`); one annotated
      `Iterator`/`Generator` always is; lists, tuples, `*args`, modules and mappings never are
      (a dict passed on as `**params` stays a dict).
    The literal stays the fallback where nothing holds a tensor: `infer_device(x, "cuda")`.
    Where the project cannot import the runtime (option `runtime-available` false), the fix is
    self-contained: `next((p.device for p in model.parameters()), "cpu")` for a module and
    `next((t.device for t in params), "cpu")` for a collection (after the same iterator
    check); where neither form is safe (parameter groups), no fix is offered. Where nothing
    can be inferred (the device only meets values of unknown kind), the finding has no fix and
    says to make the parameter required.

    ## Options
    - `runtime-module`: the module fixes import runtime helpers from (default `gradlint_runtime`).
    - `runtime-available`: whether the project can import it (computed from the project's
      dependencies); when false, fixes use the self-contained forms above.
    - `target-version`: the oldest Python the fixed code runs on (decides `| None`).
    """

    code = "GL003"
    name = "hidden-device-default"
    summary = "Literal device default where the device could be inferred from the tensors"
    OPTIONS = (RUNTIME_MODULE_OPTION,) + tuple(option for option in (_RUNTIME_AVAILABLE, _TARGET_VERSION) if option is not None)
    TRIGGER = _TRIGGER
    # A subclass whose base class (in another file) moves the module it hands on is found in
    # the project step: each file records which constructors move what, and who delegates.
    PROJECT = True
    REDUCER = "gradlint.rules._gl003_flow:reduce_delegations"

    VALID = (
        Valid("import torch\ndef make_generator(seed, device='cpu'):\n    return torch.Generator(device=device).manual_seed(seed)\n"),
        Valid("import torch\ndef collect(params, device=None):\n    return torch.zeros(1, device=device)\n"),
        Valid("collect(params, device='cpu')\n"),
        Valid(
            "import torch\n"
            "def offload_state(params, device='cpu'):\n"
            "    return [p.detach().to(device) for p in params]\n"
        ),
        Valid(
            "import torch\n"
            "class CudaGraphRunner:\n"
            "    def capture(self, tensors, device='cuda'):\n"
            "        return [t.to(device) for t in tensors]\n"
        ),
        Valid("import torch\ndef pinned(size: int, device='cpu'):\n    return torch.empty(size, device=device).pin_memory()\n"),
        Valid("import torch\ndef f(params, device='cpu'):\n    return len(params)\n"),
        Valid("import torch\ndef to_device(x: torch.Tensor, device='cuda'):\n    return x.to(device)\n"),
        Valid(
            "import torch\n"
            "from typing import Callable\n"
            "def run(fn: Callable, device='cuda'):\n"
            "    return fn(torch.zeros(3, device=device))\n"
        ),
        Valid("import torch\ndef state(params, device='cpu'):\n    return Schedule(torch.zeros((), device=device), **params)\n"),
        Valid(
            "import torch\n"
            "def fused(grads: list[torch.Tensor], device='cuda'):\n"
            "    assert device == 'cuda', 'CUDA only'\n"
            "    return torch.stack([g.norm() for g in grads]).to(device)\n"
        ),
        Valid(
            "import torch\n"
            "def graft(host_parameters, seed_parameters, device='cpu'):\n"
            "    return [p.to(device) for p in host_parameters]\n"
        ),
    )
    INVALID = (
        Invalid(
            "import torch\n"
            "def collect(params, device='cpu'):\n"
            "    return torch.stack([p.grad.norm() for p in params]).to(device)\n",
            line=2,
            column=21,
            message="`device` defaults to 'cpu'; infer it from `params`",
            options={"runtime-available": True},
            expected_fix=(
                "import gradlint_runtime\n"
                "import torch\n\n\n"
                "def collect(params, device=None):\n"
                "    if device is None:\n"
                "        if iter(params) is params:\n"
                "            params = list(params)\n"
                "        device = gradlint_runtime.infer_device(params)\n"
                "    return torch.stack([p.grad.norm() for p in params]).to(device)\n"
            ),
        ),
        Invalid(
            "import torch\n"
            "def norms(model: torch.nn.Module, device: torch.device = torch.device('cuda')):\n"
            '    """Per-parameter norms."""\n'
            "    return torch.stack([p.norm() for p in model.parameters()]).to(device)\n",
            line=2,
            options={"runtime-available": True},
            expected_fix=(
                "from typing import Optional\n\n"
                "import gradlint_runtime\n"
                "import torch\n\n\n"
                "def norms(model: torch.nn.Module, device: Optional[torch.device] = None):\n"
                '    """Per-parameter norms."""\n'
                "    if device is None:\n"
                "        device = gradlint_runtime.infer_device(model, torch.device('cuda'))\n"
                "    return torch.stack([p.norm() for p in model.parameters()]).to(device)\n"
            ),
        ),
        Invalid(
            "import torch\n"
            "def evaluate(model: torch.nn.Module, device='cpu'):\n"
            "    model.to(device)\n"
            "    return model\n",
            message="moves the caller's module",
            options={"runtime-available": False},
            expected_fix=(
                "import torch\n"
                "def evaluate(model: torch.nn.Module, device=None):\n"
                "    if device is None:\n"
                "        device = next((p.device for p in model.parameters()), 'cpu')\n"
                "    model.to(device)\n"
                "    return model\n"
            ),
        ),
        Invalid(
            "import torch\n"
            "def norms(grads: list[torch.Tensor], device: str = 'cpu'):\n"
            "    return torch.stack([g.norm() for g in grads]).to(device)\n",
            options={"runtime-available": False, "target-version": "py310"},
            expected_fix=(
                "import torch\n"
                "def norms(grads: list[torch.Tensor], device: str | None = None):\n"
                "    if device is None:\n"
                "        device = next((t.device for t in grads), 'cpu')\n"
                "    return torch.stack([g.norm() for g in grads]).to(device)\n"
            ),
        ),
        Invalid(
            "import torch\n"
            "def scaled(loss: torch.Tensor, scale: float = 2.0, device='cuda'):\n"
            "    return loss * torch.tensor(scale, device=device)\n",
            expected_fix=(
                "import torch\n"
                "def scaled(loss: torch.Tensor, scale: float = 2.0, device=None):\n"
                "    if device is None:\n"
                "        device = loss.device\n"
                "    return loss * torch.tensor(scale, device=device)\n"
            ),
        ),
        Invalid(
            "import torch\n"
            "class Rotary(torch.nn.Module):\n"
            "    def __init__(self, dim: int):\n"
            "        super().__init__()\n"
            "        self.register_buffer('inv_freq', torch.rand(dim))\n"
            "    def table(self, n: int, device='cpu'):\n"
            "        return torch.outer(torch.arange(n, device=device), self.inv_freq)\n",
            line=6,
        ),
        Invalid(
            "import torch\n"
            "def f(model: torch.nn.Module, a_device='cpu', b_device='cpu'):\n"
            "    return model(torch.zeros(1, device=a_device)), torch.ones(1, device=b_device)\n",
            line=2,
            count=2,
            expected_fix=NO_FIX,
        ),
    )

    def __init__(self, options: Any = None) -> None:
        super().__init__(options)
        given = options or {}
        # A project fact the config computes (issue 13); the declared default where nobody did.
        self._runtime = bool(given.get("runtime-available", self.options.get("runtime-available", True)))

    @classmethod
    def reduce(cls, facts, settings):  # type: ignore[no-untyped-def, override]
        from gradlint.rules._gl003_flow import reduce_delegations

        return reduce_delegations(dict(facts), settings)

    def begin_file(self, model, info) -> None:  # type: ignore[no-untyped-def]
        super().begin_file(model, info)
        self._cuda_path = is_cuda_path(getattr(info, "path", "") or "")
        self._classes: list[_Class] = []
        self._noqa: dict[int, frozenset[str]] | None = None
        self._lines: list[str] | None = None

    # -- collecting (during the one walk) ---------------------------------------------------

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._classes.append(_Class(node, ClassFacts(node.name)))

    def leave_ClassDef(self, node: ast.ClassDef) -> None:
        state = self._classes.pop()
        reported: dict[int, set[str]] = {}
        if state.pending:
            convention = class_convention(state.methods, self.model.qualified_name)
            names = [state.node.name, *(outer.node.name for outer in reversed(self._classes))]
            for function in state.pending:
                reported[id(function)] = self._decide(function, state.facts, names, convention)
        for function in state.methods:
            if function.name == "__init__" and _device_params(function):
                self._project_facts(state, function, reported.get(id(function), set()))

    def _project_facts(self, state: _Class, function, reported: set[str]) -> None:  # type: ignore[no-untyped-def]
        """What this constructor moves, and whom it hands the default to (see _gl003_flow)."""
        qualified = self.model.qualified_name
        flow = FunctionFlow(function, qualified, state.facts)
        literals = {arg.arg: literal for arg, _, literal in literal_defaults(function, qualified)}
        for arg in _device_params(function):
            verdict = flow.verdict(arg, literals.get(arg.arg, "cpu"))
            if verdict.moved_modules and not verdict.silenced:
                for fact in mover_fact(state.node.name, function, verdict.moved_modules):
                    self.record_fact(fact)
            literal = literals.get(arg.arg)
            if literal is None or arg.arg in reported or not state.node.bases:
                continue
            fact = delegation_fact(state.node, function, arg, literal, self._place(arg, function))
            if fact is not None:
                self.record_fact(fact)

    def _place(self, arg: ast.arg, function) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        if self._lines is None:
            self._lines = split_lines(self.model.text)  # the tokenizer's lines, as ast rows count
        lines = self._lines

        def column(row: int, offset: int) -> int:
            line = lines[row - 1] if row - 1 < len(lines) else ""
            return len(line.encode("utf-8")[:offset].decode("utf-8", errors="ignore")) + 1

        if self._noqa is None:
            self._noqa = line_suppressions(self.model.text)
        end_row = arg.end_lineno or arg.lineno
        return {
            "l": arg.lineno, "col": column(arg.lineno, arg.col_offset),
            "el": end_row, "ec": column(end_row, arg.end_col_offset or arg.col_offset),
            "s": function.lineno, "q": is_suppressed(self.code, (arg.lineno, function.lineno), self._noqa),
        }

    def visit_Call(self, node: ast.Call) -> None:
        if self._classes and isinstance(node.func, ast.Attribute) and node.func.attr in ("register_buffer", "register_parameter"):
            record_class_fact(self._classes[-1].facts, node, self.model.qualified_name)

    def visit_Assign(self, node: ast.Assign) -> None:
        if self._classes and any(isinstance(target, ast.Attribute) for target in node.targets):
            record_class_fact(self._classes[-1].facts, node, self.model.qualified_name)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if not self._classes:
            return
        state = self._classes[-1]
        if isinstance(node.target, ast.Name) and self.model.scope.kind == "class":
            if annotation_info(node.annotation).kind == TENSOR:
                state.facts.tensor_attrs.add(node.target.id)
        elif isinstance(node.target, ast.Attribute):
            record_class_fact(state.facts, node, self.model.qualified_name)

    def leave_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        state = self._classes[-1] if self._classes else None
        if state is not None and self.model.parent(node) is state.node:
            state.methods.append(node)
            if literal_defaults(node, self.model.qualified_name):
                state.pending.append(node)  # self's tensors may be known only later in the class
            return
        if literal_defaults(node, self.model.qualified_name):
            self._decide(node, None, [c.node.name for c in reversed(self._classes)], set())

    leave_AsyncFunctionDef = leave_FunctionDef

    # -- deciding ---------------------------------------------------------------------------

    def _decide(self, function, facts, names, convention) -> set[str]:  # type: ignore[no-untyped-def]
        """Report the function's hidden defaults; return the parameters reported."""
        decisions = check_function(function, self.model.qualified_name, facts, names, self._cuda_path, convention)
        for decision in decisions:
            name, literal = decision.arg.arg, decision.literal
            source = decision.source
            if source is not None:
                message = f"`{name}` defaults to '{literal}'; infer it from `{source.name}`"
            else:
                message = f"`{name}` defaults to '{literal}'; make it a required parameter"
            if "moves the caller's module" in decision.reasons or "delegates the move" in decision.reasons:
                message = f"`{name}` defaults to '{literal}' and moves the caller's module"
            fix = self._fix(function, decision, single=len(decisions) == 1 and len(literal_defaults(function, self.model.qualified_name)) == 1)
            self.report(decision.arg, message, fix=fix, statement=function)
        return {decision.arg.arg for decision in decisions}

    def _pep604(self) -> bool:
        """``X | None`` is valid where annotations are not evaluated or Python >= 3.10 runs."""
        match = _PY_MINOR.fullmatch(str(self.options.get("target-version", "py39")).lower())
        return (match is not None and int(match.group(1)) >= 10) or _future_annotations(self.model.tree)

    def _fix(self, function, decision: Decision, *, single: bool) -> Fix | None:  # type: ignore[no-untyped-def]
        source = decision.source
        if source is None or not single:
            return None
        runtime = self._runtime
        default_code = ast.get_source_segment(self.model.text, decision.default) or repr(decision.literal)
        plan = _plan(source, decision, runtime, self.runtime_module, default_code)
        if plan is None:
            return None
        lines, uses_runtime = plan
        imports = [ImportSpec(self.runtime_module)] if uses_runtime else []
        annotation = decision.arg.annotation
        widen = ""
        if annotation is not None:
            pep604 = (isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr)) or self._pep604()
            widen = "|" if pep604 else "Optional"
            if widen == "Optional":
                imports.append(ImportSpec("typing", "Optional"))
        build = _builder(decision.arg.arg, lines, widen)
        return Fix(
            "unsafe",
            f"Default `{decision.arg.arg}` to None and infer it from `{source.name}`",
            (NodeEdit(function, build),),
            tuple(imports),
        )


def _future_annotations(tree: ast.Module) -> bool:
    for statement in tree.body:
        if isinstance(statement, ast.ImportFrom) and statement.module == "__future__":
            if any(alias.name == "annotations" for alias in statement.names):
                return True
        elif not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)):
            if not isinstance(statement, ast.ImportFrom):
                return False
    return False


def _device_params(function) -> list[ast.arg]:  # type: ignore[no-untyped-def]
    args = function.args
    return [a for a in [*args.posonlyargs, *args.args, *args.kwonlyargs] if a.arg == "device" or a.arg.endswith("_device")]


def _plan(source: Source, decision: Decision, runtime: bool, module: str, default_code: str) -> tuple[list[str], bool] | None:
    """The statements under ``if device is None:`` and whether they call the runtime."""
    device = decision.arg.arg
    literal_is_cpu = decision.literal == "cpu"
    fallback = "" if literal_is_cpu else f", {default_code}"
    name = source.name
    if source.kind == TENSOR:
        return [f"{device} = {name}.device"], False
    if source.kind == MODULE:
        if runtime:
            return [f"{device} = {module}.infer_device({name}{fallback})"], True
        return [f"{device} = next((p.device for p in {name}.parameters()), {default_code})"], False
    lines = []
    if source.wrap == "list":
        lines.append(f"{name} = list({name})")
    elif source.wrap == "check":
        lines += [f"if iter({name}) is {name}:", f"    {name} = list({name})"]
    if runtime:
        return [*lines, f"{device} = {module}.infer_device({name}{fallback})"], True
    if not source.inline_ok:
        return None
    return [*lines, f"{device} = next((t.device for t in {name}), {default_code})"], False


def _builder(device: str, lines: list[str], widen: str) -> Callable[[Any], Any]:
    def build(old: Any) -> Any:
        import libcst as cst

        guard = cst.parse_statement("if " + device + " is None:\n" + "".join(f"    {line}\n" for line in lines))

        def param(node: cst.Param) -> cst.Param:
            new = node.with_changes(default=cst.Name("None"))
            if node.annotation is not None and widen:
                current = node.annotation.annotation
                if widen == "|":
                    widened: cst.BaseExpression = cst.BinaryOperation(current, cst.BitOr(), cst.Name("None"))
                else:
                    widened = cst.Subscript(cst.Name("Optional"), [cst.SubscriptElement(cst.Index(current))])
                new = new.with_changes(annotation=node.annotation.with_changes(annotation=widened))
            return new

        params = old.params

        def replace(items):  # type: ignore[no-untyped-def]
            return [param(p) if p.name.value == device else p for p in items]

        new_params = params.with_changes(
            params=replace(params.params),
            kwonly_params=replace(params.kwonly_params),
            posonly_params=replace(params.posonly_params),
        )
        body = old.body
        if not isinstance(body, cst.IndentedBlock):  # def f(x): return x
            body = cst.IndentedBlock(body=[cst.SimpleStatementLine(body=list(body.body))])
        statements = list(body.body)
        index = 1 if statements and _is_docstring(statements[0]) else 0
        statements.insert(index, guard)
        return old.with_changes(params=new_params, body=body.with_changes(body=statements))

    return build


def _is_docstring(statement: Any) -> bool:
    import libcst as cst

    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )
