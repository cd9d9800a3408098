"""GL003 hidden-device-default."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

import libcst as cst

from gradlint.context import FileContext
from gradlint.names import dotted_name
from gradlint.options import RUNTIME_MODULE_OPTION
from gradlint.prescreen import AstScreen, functions, statements_holding
from gradlint.cst_rule import NO_FIX, CstFix as Fix, CstRule as Rule, ImportSpec, Invalid, Valid

_DEVICE_LITERAL = re.compile(r"^(?:cpu|cuda|mps|xpu)(?::\d+)?$")
_TRIGGER = re.compile(
    r"device\s*(?::[^=\n]*)?=\s*(?:[\"'](?:cpu|cuda|mps|xpu)|(?:\w+\.)*device\(\s*[\"'](?:cpu|cuda|mps|xpu))"
)
_SPLIT = re.compile(r"_+|(?<=[a-z0-9])(?=[A-Z])")
# Name parts that mark a deliberate host default: offload targets, checkpoints, averaged
# models, replay buffers, moves to host.
_HOST_PARTS = frozenset(
    {
        "offload", "offloaded", "save", "saver", "saving", "checkpoint", "checkpointing", "ckpt",
        "serialize", "serialization", "serializer", "deserialize", "host", "cpu", "pin", "pinned",
        "buffer", "buffers", "replay", "ema", "swa", "averaged", "average", "swap", "snapshot",
        "storage", "export", "dump",
    }
)
_HOST_SUBSTRINGS = ("offload", "checkpoint", "state_dict", "statedict", "serial", "to_host", "buffer", "averag")
_CUDA_PARTS = frozenset({"cuda", "gpu", "nccl", "triton", "cudnn", "nvfuser", "cutlass", "cublas", "nvtx", "xpu", "mps"})
# Back-end packages whose functions are accelerator-only by construction (torch/cuda, torch/xpu).
_BACKEND_DIRS = frozenset({"cuda", "gpu", "xpu", "mps"})
# Attributes only tensors, parameters and modules have.
_TENSOR_ATTRS = frozenset(
    {
        "grad", "parameters", "named_parameters", "buffers", "device", "dtype", "shape", "numel",
        "detach", "data", "ndim", "dim", "is_cuda", "requires_grad", "element_size", "main_grad",
        "cuda", "half", "bfloat16", "to", "state_dict", "modules", "register_forward_hook",
    }
)
_TENSOR_ANNOTATION = re.compile(r"\b(?:Tensor|Parameter|Module|ParamsT|_params_t|nn\.\w+)\b")
_TENSOR_NAMES = frozenset(
    {
        "params", "parameters", "tensors", "tensor", "grads", "gradients", "model", "module",
        "net", "network", "weights", "weight", "param", "grad", "named_params", "param_groups",
    }
)
_ONE_SHOT = re.compile(r"\b(?:Iterable|Iterator|Generator)\b")
_COLLECTION = re.compile(r"\b(?:list|List|Sequence|tuple|Tuple|Module|Tensor|ParameterList)\b")


def _parts(name: str) -> set[str]:
    return {part.lower() for part in _SPLIT.split(name) if part}


def _is_host_name(name: str) -> bool:
    lower = name.lower()
    return bool(_parts(name) & _HOST_PARTS) or any(word in lower for word in _HOST_SUBSTRINGS)


@dataclass(slots=True)
class _Frame:
    function: cst.FunctionDef
    devices: list[tuple[cst.Param, str]]
    params: dict[str, cst.Param]
    attrs: dict[str, set[str]] = field(default_factory=dict)
    loop_of: dict[str, str] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)
    to_host: bool = False  # the body calls .cpu()/.numpy(): a deliberate move to host


class HiddenDeviceDefault(Rule):
    """
    ## What it does
    Flags a `device` (or `*_device`) parameter whose default is a literal device (`"cpu"`,
    `"cuda"`, `"cuda:0"`, `"mps"`, `torch.device("cpu")`) in a function that also receives
    tensors, parameters or a module (judged by annotation, by name such as `params`/`model`,
    and by use such as `p.grad` or `x.device`) and passes the device on to place or create
    tensors.

    Silent on functions that take no tensors, on `device=None`, on call sites, on deliberate
    host defaults (names with offload, save, checkpoint, state_dict, serial, to_host, host,
    buffer, replay, EMA/SWA/averaged storage, in the function, its class or the parameter) and
    on CUDA-only code (a `"cuda"` default in a function, class or file named for CUDA/GPU).

    ## Why is this bad
    A caller who forgets the argument silently gets CPU tensors next to CUDA gradients: a
    copy, a host sync, or a device-mismatch error far from the cause. The device is knowable
    from the tensors themselves.

    ## Example
    ```python
    def collect(params, device="cpu"):
        return torch.zeros(len(params), device=device)
    ```

    ## Use instead
    ```python
    def collect(params, device=None):
        if device is None:
            params = list(params)
            device = gradlint_runtime.infer_device(params)
        return torch.zeros(len(params), device=device)
    ```

    ## Fix safety
    Unsafe: callers relying on the CPU default now get the parameters' device. The default
    becomes `None` and the body (after the docstring) infers the device with
    `gradlint_runtime.infer_device`, which refuses one-shot iterators rather than silently
    consuming them; so when the argument may be one (annotated `Iterable`/`Iterator`/
    `Generator`, or an unannotated `params`/`parameters`, typically `model.parameters()`), the
    fix first materializes it with `list(...)`, only on the branch that infers the device.

    ## Options
    - `runtime-module`: the module fixes import runtime helpers from (default `gradlint_runtime`).
    """

    code = "GL003"
    name = "hidden-device-default"
    summary = "Literal device default where the device could be inferred from the tensors"
    OPTIONS = (RUNTIME_MODULE_OPTION,)

    def prescreen(self, screen: AstScreen) -> bool:
        """Some function has a ``device``/``*_device`` parameter with a literal device default."""
        lines = [function.lineno for function in functions(screen) if _has_literal_device_default(function)]
        screen.memo[self.code] = lines
        return bool(lines)

    def regions(self, screen: AstScreen) -> set[int] | None:
        """The module-level statements (functions, classes) holding those functions."""
        return statements_holding(screen, screen.memo[self.code])  # type: ignore[arg-type]

    @classmethod
    def may_match(cls, text: str) -> bool:
        return _TRIGGER.search(text) is not None

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
    )
    INVALID = (
        Invalid(
            "import torch\n"
            "def collect(params, device='cpu'):\n"
            "    return torch.zeros(len(params), device=device)\n",
            line=2,
            column=21,
            message="`device` defaults to 'cpu'",
            expected_fix=(
                "import torch\n"
                "import gradlint_runtime\n\n"
                "def collect(params, device=None):\n"
                "    if device is None:\n"
                "        params = list(params)\n"
                "        device = gradlint_runtime.infer_device(params)\n"
                "    return torch.zeros(len(params), device=device)\n"
            ),
        ),
        Invalid(
            "import torch\n"
            "def norms(model: torch.nn.Module, device: torch.device = torch.device('cuda')):\n"
            '    """Per-parameter norms."""\n'
            "    return torch.stack([p.norm() for p in model.parameters()]).to(device)\n",
            line=2,
            expected_fix=(
                "import torch\n"
                "import gradlint_runtime\n"
                "from typing import Optional\n\n"
                "def norms(model: torch.nn.Module, device: Optional[torch.device] = None):\n"
                '    """Per-parameter norms."""\n'
                "    if device is None:\n"
                "        device = gradlint_runtime.infer_device(model)\n"
                "    return torch.stack([p.norm() for p in model.parameters()]).to(device)\n"
            ),
        ),
        Invalid(
            "import torch\n"
            "def f(x, out_device='cuda:0'): return x.to(out_device)\n",
            expected_fix=NO_FIX,
        ),
    )

    def begin_file(self, ctx: FileContext) -> None:
        super().begin_file(ctx)
        self._frames: list[_Frame | None] = []
        parts = ctx.info.path.replace("\\", "/").lower().split("/")
        self._cuda_file = bool(_parts(parts[-1].removesuffix(".py")) & _CUDA_PARTS) or any(
            part in _BACKEND_DIRS for part in parts[:-1]
        )

    # -- collecting -------------------------------------------------------------------------

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        params = node.params
        every = [*params.posonly_params, *params.params, *params.kwonly_params]
        devices = []
        for param in every:
            name = param.name.value
            if (name == "device" or name.endswith("_device")) and param.default is not None:
                literal = self._device_literal(param.default)
                if literal is not None:
                    devices.append((param, literal))
        if not devices:
            self._frames.append(None)
            return
        names = {p.name.value: p for p in every if p.name.value not in ("self", "cls")}
        self._frames.append(_Frame(node, devices, names))

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        frame = self._frames.pop()
        if frame is not None:
            self._decide(frame)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        frame = self._frames[-1] if self._frames else None
        if frame is not None and node.attr.value in ("cpu", "numpy"):
            frame.to_host = True
        if frame is not None and isinstance(node.value, cst.Name):
            frame.attrs.setdefault(node.value.value, set()).add(node.attr.value)

    def visit_For(self, node: cst.For) -> None:
        self._loop(node.target, node.iter)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._loop(node.target, node.iter)

    def _loop(self, target: cst.BaseExpression, iterable: cst.BaseExpression) -> None:
        frame = self._frames[-1] if self._frames else None
        if frame is None or not isinstance(target, cst.Name):
            return
        source = iterable
        if isinstance(source, cst.Call) and isinstance(source.func, cst.Attribute):
            source = source.func.value  # model.parameters(), params.values()
        if isinstance(source, cst.Name) and source.value in frame.params:
            frame.loop_of[target.value] = source.value

    def visit_Arg(self, node: cst.Arg) -> None:
        frame = self._frames[-1] if self._frames else None
        if frame is not None and isinstance(node.value, cst.Name):
            frame.used.add(node.value.value)

    # -- deciding ---------------------------------------------------------------------------

    def _device_literal(self, default: cst.BaseExpression) -> str | None:
        if isinstance(default, cst.SimpleString):
            value = default.evaluated_value
            return value if isinstance(value, str) and _DEVICE_LITERAL.match(value) else None
        if isinstance(default, cst.Call) and default.args:
            name = dotted_name(default.func)
            assert self.ctx is not None
            if name is not None and self.ctx.imports.resolve(name) == "torch.device":
                first = default.args[0].value
                if isinstance(first, cst.SimpleString):
                    value = first.evaluated_value
                    if isinstance(value, str) and _DEVICE_LITERAL.match(value):
                        return value
        return None

    def _tensor_source(self, frame: _Frame) -> cst.Param | None:
        """The parameter the device could be inferred from (best evidence first)."""
        device_names = {name for _, name in ((p, p.name.value) for p, _ in frame.devices)}
        by_use: dict[str, int] = {}
        for name, attrs in frame.attrs.items():
            owner = name if name in frame.params else frame.loop_of.get(name)
            if owner is not None and attrs & _TENSOR_ATTRS:
                by_use[owner] = 1
        ranked: list[tuple[int, int, cst.Param]] = []
        for index, (name, param) in enumerate(frame.params.items()):
            if name in device_names or param.star == "**":
                continue
            annotation = code_annotation(param)
            if annotation and _TENSOR_ANNOTATION.search(annotation):
                ranked.append((0, index, param))
            elif name in by_use:
                ranked.append((1, index, param))
            elif name in _TENSOR_NAMES and not annotation:
                ranked.append((2, index, param))
        if not ranked:
            return None
        return min(ranked, key=lambda item: (item[0], item[1]))[2]

    def _decide(self, frame: _Frame) -> None:
        assert self.ctx is not None
        scopes = [frame.function.name.value] + [
            statement.name.value for statement in self.ctx.statements if isinstance(statement, cst.ClassDef)
        ]
        if frame.to_host or any(_is_host_name(name) for name in scopes):
            return
        source = self._tensor_source(frame)
        if source is None:
            return
        for param, literal in frame.devices:
            name = param.name.value
            if name not in frame.used or _is_host_name(name):
                continue
            if literal != "cpu" and (self._cuda_file or any(_parts(scope) & _CUDA_PARTS for scope in scopes)):
                continue
            message = (
                f"`{name}` defaults to '{literal}' although the device can be inferred from "
                f"`{source.name.value}`: callers who omit it silently get {literal} tensors next to "
                f"tensors on another device; default to None and use `{self.runtime_module}.infer_device(...)`"
            )
            self.report(param, message, fix=self._fix(frame, param, source))

    # -- fix --------------------------------------------------------------------------------

    def _fix(self, frame: _Frame, param: cst.Param, source: cst.Param) -> Fix | None:
        function = frame.function
        body = function.body
        if not isinstance(body, cst.IndentedBlock) or len(frame.devices) != 1:
            return None
        device = param.name.value
        argument = source.name.value
        annotation = code_annotation(source)
        lines = [f"if {device} is None:"]
        if source.star == "*":
            argument = argument  # *tensors is already a tuple
        elif _ONE_SHOT.search(annotation) or (
            not _COLLECTION.search(annotation) and argument in ("params", "parameters")
        ):
            lines.append(f"    {argument} = list({argument})")
        lines.append(f"    {device} = {self.runtime_module}.infer_device({argument})")
        guard = cst.parse_statement("\n".join(lines) + "\n")
        statements = list(body.body)
        index = 1 if statements and _is_docstring(statements[0]) else 0
        statements.insert(index, guard)
        imports = [ImportSpec(self.runtime_module)]
        new_param = param.with_changes(default=cst.Name("None"))
        if param.annotation is not None:
            current = param.annotation.annotation
            if isinstance(current, cst.BinaryOperation) and isinstance(current.operator, cst.BitOr):
                widened: cst.BaseExpression = cst.BinaryOperation(current, cst.BitOr(), cst.Name("None"))
            else:
                widened = cst.Subscript(
                    cst.Name("Optional"), [cst.SubscriptElement(cst.Index(current))]
                )
                imports.insert(0, ImportSpec("typing", "Optional"))
            new_param = new_param.with_changes(annotation=param.annotation.with_changes(annotation=widened))
        return Fix(
            "unsafe",
            f"Default `{device}` to None and infer it from `{source.name.value}`",
            ((param, new_param), (body, body.with_changes(body=statements))),
            tuple(imports),
        )


def code_annotation(param: cst.Param) -> str:
    if param.annotation is None:
        return ""
    return cst.Module(body=[]).code_for_node(param.annotation.annotation)


def _is_docstring(statement: cst.BaseStatement) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def _ast_device_literal(node: ast.expr) -> bool:
    """``"cpu"``, ``"cuda:0"``... or ``torch.device("cpu")`` in the stdlib ``ast``."""
    if isinstance(node, ast.Call) and node.args:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if name == "device":
            node = node.args[0]
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and bool(_DEVICE_LITERAL.match(node.value))


def _has_literal_device_default(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    arguments = function.args
    positional = [*arguments.posonlyargs, *arguments.args]
    pairs = list(zip(positional[len(positional) - len(arguments.defaults):], arguments.defaults))
    pairs += [(arg, default) for arg, default in zip(arguments.kwonlyargs, arguments.kw_defaults) if default is not None]
    return any(
        (arg.arg == "device" or arg.arg.endswith("_device")) and _ast_device_literal(default)
        for arg, default in pairs
    )
