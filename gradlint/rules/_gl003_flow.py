"""GL003's flow analysis: does a defaulted device meet the caller's tensors? (stdlib ``ast``).

One function with a literal device default is read once (its nested functions, lambdas and
classes are opaque), and a small flow-insensitive taint analysis runs over what was read:

- ``D``: the defaulted device itself, its aliases (``device = torch.device(device)``,
  ``self.device = device``, ``super().__init__(device=device)`` then ``self.device``);
- ``DV``: a tensor or module placed on ``D`` (a ``torch`` factory called with ``device=D``,
  ``x.to(D)``); ``DVI``: such a value computed from the inputs (a factory sized by them,
  ``torch.zeros_like(t, device=D)``, or a computed input value moved: ``norms(grads).to(D)``);
- ``IV``: the caller's tensors: tensor-valued parameters (by annotation or by use: ``p.grad``,
  ``.parameters()``, tensor methods; never by a parameter's name) and ``self``'s tensors
  (registered buffers, parameters, tensors assigned to ``self``); ``CIV``: computed from them;
- ``REF``: a number read off the inputs (``x.shape``, ``len(params)``).

The device "meets" the caller's tensors when an operation combines ``DV`` with ``IV``
(arithmetic, a ``torch`` call, a method of one called with the other, a module called on a
value placed on ``D``), when a ``DVI`` value or ``DV`` together with ``IV`` leaves through
``return``/``yield``, when ``DVI`` is stored on ``self`` next to ``IV``, when the caller's
module is moved (``model.to(D)``, also through ``self.model``), or when the caller's module
and ``D`` are handed to the base class together (``super().__init__(model, device=device)``).
A bare move of the caller's own tensors (``x.to(D)``, ``[t.to(D) for t in xs]``) is the
function's job, not a hidden default: the destination cannot be inferred from what is moved.

Cost: one ``ast`` walk of the function plus at most :data:`_PASSES` evaluation passes over
the statements it recorded; linear in the function's size.
"""

from __future__ import annotations

import ast
from gradlint.semantic.syntax import dotted_name
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

QualifiedName = Callable[[ast.AST], "str | None"]

DEVICE_LITERAL = re.compile(r"^(?:cpu|cuda|mps|xpu)(?::\d+)?$")

D, DV, DVI, IV, CIV, REF = 1, 2, 4, 8, 16, 32
_PASSES = 4

# Parameter kinds, as far as GL003 needs them.
TENSOR, TENSORS, PARAMETERS, MODULE, NOT_TENSOR, UNKNOWN = "tensor", "tensors", "parameters", "module", "not-tensor", "unknown"

_SPLIT = re.compile(r"_+|(?<=[a-z0-9])(?=[A-Z])")
# Name parts that mark a deliberate host default: offload targets, checkpoints, averaged
# models, replay buffers, moves to host. "host" alone is not one of them: in model-grafting
# code the host is a model (``host_parameters``); it counts only where it names a destination.
_HOST_PARTS = frozenset(
    {
        "offload", "offloaded", "save", "saver", "saving", "checkpoint", "checkpointing", "ckpt",
        "serialize", "serialization", "serializer", "deserialize", "cpu", "pin", "pinned",
        "buffer", "buffers", "replay", "ema", "swa", "averaged", "average", "swap", "snapshot",
        "storage", "export", "dump",
    }
)
_HOST_SUBSTRINGS = (
    "offload", "checkpoint", "state_dict", "statedict", "serial", "to_host", "on_host", "host_buf",
    "host_copy", "host_mem", "host_stag", "host_device", "buffer", "averag", "pin_memory",
)
_CUDA_PARTS = frozenset({"cuda", "gpu", "nccl", "triton", "cudnn", "nvfuser", "cutlass", "cublas", "nvtx", "xpu", "mps"})
_BACKEND_DIRS = frozenset({"cuda", "gpu", "xpu", "mps"})
# torch.cuda calls that probe (and so usually guard a fallback) rather than require CUDA.
_CUDA_PROBES = frozenset({"is_available", "device_count", "current_device", "is_initialized", "get_device_name", "is_bf16_supported"})

_MODULE_METHODS = frozenset(
    {
        "parameters", "named_parameters", "modules", "named_modules", "children", "named_children",
        "buffers", "named_buffers", "eval", "train", "zero_grad", "apply", "register_forward_hook",
        "register_forward_pre_hook", "register_full_backward_hook", "requires_grad_", "load_state_dict",
    }
)
_PARAMETER_ATTRS = frozenset({"grad", "main_grad"})
# Methods only torch tensors have (numpy arrays share sum/mean/max/reshape/..., so those are
# no evidence that a parameter holds tensors).
_TENSOR_METHODS = frozenset(
    {
        "norm", "abs", "pow", "sqrt", "square", "exp", "log", "amax", "amin", "detach", "clone",
        "float", "double", "half", "bfloat16", "contiguous", "unsqueeze", "mul", "mul_", "add",
        "add_", "sub", "sub_", "div", "div_", "clamp", "clamp_", "clamp_min", "masked_fill",
        "masked_fill_", "zero_", "copy_", "new_zeros", "new_ones", "new_empty", "new_full",
        "new_tensor", "mm", "bmm", "softmax", "log_softmax", "permute", "expand", "expand_as",
        "index_select", "isfinite", "isnan", "isinf", "element_size", "is_floating_point", "topk",
        "requires_grad_", "backward",
    }
)
_NUMBER_METHODS = frozenset({"size", "numel", "dim", "item", "tolist", "element_size", "stride", "nelement"})
_NUMBER_ATTRS = frozenset({"shape", "dtype", "ndim", "is_cuda", "requires_grad", "layout", "names"})
_MAPPING_METHODS = frozenset({"items", "keys", "values", "get", "pop", "update", "setdefault"})
_CONTAINER_MUTATORS = frozenset({"append", "extend", "insert", "add", "update", "setdefault", "appendleft"})
_PASS_THROUGH_BUILTINS = frozenset({"sum", "max", "min", "abs", "list", "tuple", "sorted", "reversed", "iter", "next", "enumerate", "zip", "dict"})
_LIKE_FACTORIES = frozenset({"zeros_like", "ones_like", "empty_like", "full_like", "rand_like", "randn_like", "randint_like"})

_TENSOR_ANNOTATIONS = frozenset({"Tensor", "FloatTensor", "LongTensor", "BoolTensor", "DTensor", "Parameter", "UninitializedParameter"})
_MODULE_ANNOTATIONS = frozenset({"Module", "Sequential", "ModuleList", "ModuleDict", "DataParallel", "DistributedDataParallel", "FullyShardedDataParallel"})
_PARAMETERS_ANNOTATIONS = frozenset({"ParamsT", "_ParamsT", "_params_t", "ParameterList"})
_NOT_TENSOR_ANNOTATIONS = frozenset(
    {
        "str", "int", "float", "bool", "bytes", "dict", "Dict", "Mapping", "MutableMapping",
        "OrderedDict", "Callable", "DictConfig", "ListConfig", "Namespace", "Size", "device",
        "dtype", "Generator", "Path", "type", "Any",
    }
)
_CONTAINERS = frozenset({"list", "List", "tuple", "Tuple", "Sequence", "Iterable", "Iterator", "Generator", "Collection", "set", "Set", "MutableSequence"})
_ONE_SHOT = frozenset({"Iterator", "Generator"})
_REITERABLE = frozenset({"list", "List", "tuple", "Tuple", "Sequence", "MutableSequence", "Collection", "set", "Set", "ParameterList"})
_WRAPPERS = frozenset({"Optional", "Union", "Annotated", "Final"})
_CONFIG_SUFFIXES = ("Config", "Cfg", "Args", "Arguments", "Options", "Settings", "Params", "Kwargs")


def name_parts(name: str) -> set[str]:
    return {part.lower() for part in _SPLIT.split(name) if part}


def is_host_name(name: str) -> bool:
    lower = name.lower()
    return bool(name_parts(name) & _HOST_PARTS) or any(word in lower for word in _HOST_SUBSTRINGS)


def is_cuda_name(name: str) -> bool:
    return bool(name_parts(name) & _CUDA_PARTS)


def is_cuda_path(path: str) -> bool:
    parts = path.replace("\\", "/").lower().split("/")
    return bool(name_parts(parts[-1].removesuffix(".py")) & _CUDA_PARTS) or any(part in _BACKEND_DIRS for part in parts[:-1])


def _dotted(node: ast.AST) -> str:
    return dotted_name(node) or ""


def device_literal(default: ast.AST | None, qualified: QualifiedName) -> str | None:
    """``"cpu"``, ``"cuda:0"``... or ``torch.device("cpu")``: the literal, else None."""
    if isinstance(default, ast.Call) and default.args and not default.keywords:
        if qualified(default.func) != "torch.device" and _dotted(default.func) not in ("torch.device", "device"):
            return None
        first = default.args[0]
        if len(default.args) == 2 and not (isinstance(default.args[1], ast.Constant) and isinstance(default.args[1].value, int)):
            return None
        default = first
    if isinstance(default, ast.Constant) and isinstance(default.value, str) and DEVICE_LITERAL.match(default.value):
        return default.value
    return None


def literal_defaults(function: ast.FunctionDef | ast.AsyncFunctionDef, qualified: QualifiedName) -> list[tuple[ast.arg, ast.expr, str]]:
    """The ``device``/``*_device`` parameters whose default is a literal device."""
    arguments = function.args
    positional = [*arguments.posonlyargs, *arguments.args]
    pairs = list(zip(positional[len(positional) - len(arguments.defaults):], arguments.defaults))
    pairs += [(arg, default) for arg, default in zip(arguments.kwonlyargs, arguments.kw_defaults) if default is not None]
    found = []
    for arg, default in pairs:
        if arg.arg == "device" or arg.arg.endswith("_device"):
            literal = device_literal(default, qualified)
            if literal is not None:
                found.append((arg, default, literal))
    return found


# -- parameter kinds ------------------------------------------------------------------------


@dataclass(slots=True)
class AnnotationInfo:
    kind: str = UNKNOWN
    optional: bool = False
    one_shot: bool = False  # Iterator[...] / Generator[...]
    reiterable: bool = False  # list/tuple/Sequence/ParameterList/Module


def annotation_info(annotation: ast.AST | None) -> AnnotationInfo:
    info = AnnotationInfo()
    if annotation is None:
        return info
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        try:
            annotation = ast.parse(annotation.value, mode="eval").body
        except (SyntaxError, ValueError, RecursionError):
            return info
    _read_annotation(annotation, info)
    return info


def _read_annotation(node: ast.AST, info: AnnotationInfo) -> None:
    if isinstance(node, ast.Constant) and node.value is None:
        info.optional = True
        return
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        _union(info, [node.left, node.right])
        return
    if isinstance(node, ast.Subscript):
        outer = _dotted(node.value).rpartition(".")[2]
        items = list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]
        if outer in _WRAPPERS:
            if outer == "Optional":
                info.optional = True
            _union(info, items[:1] if outer in ("Annotated", "Final") else items)
            return
        if outer in _CONTAINERS and items:
            inner = AnnotationInfo()
            _read_annotation(items[0], inner)
            if inner.kind in (TENSOR, PARAMETERS, TENSORS):
                info.kind = PARAMETERS if inner.kind == PARAMETERS or _is_parameter_annotation(items[0]) else TENSORS
            elif inner.kind == MODULE:
                info.kind = UNKNOWN  # a list of modules: no single device source
            info.one_shot = outer in _ONE_SHOT
            info.reiterable = outer in _REITERABLE
            return
        if outer in ("Callable", "dict", "Dict", "Mapping", "MutableMapping", "OrderedDict", "type", "Type"):
            info.kind = NOT_TENSOR
        return
    short = _dotted(node).rpartition(".")[2]
    if not short:
        return
    if short in _TENSOR_ANNOTATIONS:
        info.kind = TENSOR
    elif short in _MODULE_ANNOTATIONS or short.endswith("Module"):
        info.kind = MODULE
        info.reiterable = True
    elif short in _PARAMETERS_ANNOTATIONS:
        info.kind = PARAMETERS
        info.reiterable = short == "ParameterList"
    elif short in _NOT_TENSOR_ANNOTATIONS or short.endswith(_CONFIG_SUFFIXES):
        info.kind = NOT_TENSOR


def _is_parameter_annotation(node: ast.AST) -> bool:
    return _dotted(node).rpartition(".")[2] in ("Parameter", "UninitializedParameter")


def _union(info: AnnotationInfo, items: list[ast.AST]) -> None:
    kinds = set()
    for item in items:
        part = AnnotationInfo()
        _read_annotation(item, part)
        if part.optional and part.kind == UNKNOWN and isinstance(item, ast.Constant):
            info.optional = True
            continue
        info.optional |= part.optional
        info.one_shot |= part.one_shot
        info.reiterable |= part.reiterable
        kinds.add(part.kind)
    if len(kinds) == 1:
        info.kind = kinds.pop()
    elif kinds <= {TENSOR, TENSORS, PARAMETERS, UNKNOWN} and kinds & {TENSORS, PARAMETERS}:
        info.kind = UNKNOWN  # Tensor | list[Tensor]: not one shape of source
    elif NOT_TENSOR in kinds and kinds <= {NOT_TENSOR, UNKNOWN}:
        info.kind = NOT_TENSOR
    else:
        info.kind = UNKNOWN


@dataclass(slots=True)
class _Uses:
    """What the function does with one parameter (evidence of its kind, by use)."""

    attrs: set[str] = field(default_factory=set)  # x.attr read (methods included)
    element_attrs: set[str] = field(default_factory=set)  # attributes of its loop elements
    iterated: bool = False
    called: bool = False
    mapping: bool = False  # **x, x.items(), x["key"]
    sized: bool = False  # len(x), x[i]
    moved_bare: bool = False  # x.to(...) as a statement: modules move in place
    stepped: bool = False  # next(x): the function relies on x being an iterator


def use_kind(uses: _Uses | None) -> str:
    if uses is None:
        return UNKNOWN
    if uses.mapping:
        return NOT_TENSOR
    if uses.attrs & _MODULE_METHODS or uses.moved_bare:
        return MODULE
    if uses.called:
        return NOT_TENSOR
    if uses.element_attrs & _PARAMETER_ATTRS:
        return PARAMETERS
    if uses.attrs & _PARAMETER_ATTRS:
        return TENSOR
    if uses.element_attrs & _TENSOR_METHODS and uses.iterated:
        return TENSORS
    if uses.attrs & _TENSOR_METHODS:
        return TENSOR
    return UNKNOWN


# -- the analysis ---------------------------------------------------------------------------


@dataclass(slots=True)
class ClassFacts:
    """What GL003 knows of the class around a method: its tensors, its modules."""

    name: str = ""
    tensor_attrs: set[str] = field(default_factory=set)
    module_attrs: set[str] = field(default_factory=set)


@dataclass(slots=True)
class Param:
    node: ast.arg
    kind: str
    info: AnnotationInfo
    star: str = ""  # "*" or "**"
    has_none_default: bool = False

    @property
    def name(self) -> str:
        return self.node.arg


@dataclass(slots=True)
class Verdict:
    reasons: set[str]
    silenced: str | None
    params: dict[str, Param]
    self_tensors: list[str]  # self attributes holding tensors that met the device
    moved_modules: list[str]  # parameters holding the caller's module that were moved
    stepped: set[str] = field(default_factory=set)  # parameters passed to next()
    assigned_self: set[str] = field(default_factory=set)  # self attributes this function sets
    is_init: bool = False


class FunctionFlow:
    """Read one function once; answer for each of its defaulted device parameters."""

    def __init__(self, function: ast.FunctionDef | ast.AsyncFunctionDef, qualified: QualifiedName, facts: ClassFacts | None) -> None:
        self.function = function
        self.qualified = qualified
        self.facts = facts or ClassFacts()
        self.in_class = facts is not None
        self.params: dict[str, Param] = {}
        self.uses: dict[str, _Uses] = {}
        self.loop_owner: dict[str, str] = {}  # loop/comprehension target -> parameter iterated
        self.assignments: list[tuple[ast.AST, ast.AST | None, ast.AST]] = []  # (target, value, node)
        self.loops: list[tuple[ast.AST, ast.AST]] = []  # (target, iterable)
        self.aug: list[ast.AugAssign] = []
        self.returns: list[ast.AST] = []
        self.super_calls: list[ast.Call] = []
        self.exprs: list[ast.AST] = []  # expression statements and other roots to evaluate
        self.host_calls = False  # .cpu() / .numpy() / .pin_memory() in the body
        self.cuda_api = False
        self.tests: list[tuple[ast.AST, bool]] = []  # (test, raises): asserts and if-raise
        self.registered: set[str] = set()  # self.register_buffer("name", ...) in this function
        self._read_params()
        self._read_body()

    # -- reading ---------------------------------------------------------------------------

    def _read_params(self) -> None:
        args = self.function.args
        positional = [*args.posonlyargs, *args.args]
        defaults: dict[str, ast.expr] = dict(zip((a.arg for a in positional[len(positional) - len(args.defaults):]), args.defaults))
        defaults.update({a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None})
        everything = [(a, "") for a in positional + args.kwonlyargs]
        if args.vararg is not None:
            everything.append((args.vararg, "*"))
        if args.kwarg is not None:
            everything.append((args.kwarg, "**"))
        for index, (arg, star) in enumerate(everything):
            if index == 0 and self.in_class and not star and arg.arg in ("self", "cls"):
                continue
            info = annotation_info(arg.annotation)
            default = defaults.get(arg.arg)
            none_default = isinstance(default, ast.Constant) and default.value is None
            constant_default = isinstance(default, ast.Constant) and default.value is not None
            kind = info.kind
            if star == "**" or constant_default:
                kind = NOT_TENSOR
            elif star == "*" and kind == TENSOR:
                kind = TENSORS
            self.params[arg.arg] = Param(arg, kind, info, star, none_default or info.optional)

    def _read_body(self) -> None:
        stack: list[ast.AST] = list(reversed(self.function.body))
        while stack:
            node = stack.pop()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                continue  # opaque: runs later, with its own parameters
            self._read(node)
            stack.extend(reversed(list(ast.iter_child_nodes(node))))

    def _read(self, node: ast.AST) -> None:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                self.assignments.append((target, node.value, node))
        elif isinstance(node, (ast.AnnAssign,)) and node.value is not None:
            self.assignments.append((node.target, node.value, node))
        elif isinstance(node, ast.NamedExpr):
            self.assignments.append((node.target, node.value, node))
        elif isinstance(node, ast.AugAssign):
            self.aug.append(node)
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            self.loops.append((node.target, node.iter))
            self._loop_owner(node.target, node.iter)
        elif isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            # The element is read before the generators in the tree: know the loop first.
            for generator in node.generators:
                self.loops.append((generator.target, generator.iter))
                self._loop_owner(generator.target, generator.iter)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                if item.optional_vars is not None:
                    self.assignments.append((item.optional_vars, item.context_expr, node))
        elif isinstance(node, ast.Return) and node.value is not None:
            self.returns.append(node.value)
        elif isinstance(node, (ast.Yield, ast.YieldFrom)) and node.value is not None:
            self.returns.append(node.value)
        elif isinstance(node, ast.Expr):
            self.exprs.append(node.value)
            value = node.value
            if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr == "to":
                owner = value.func.value
                if isinstance(owner, ast.Name) and owner.id in self.params:
                    self._uses(owner.id).moved_bare = True
        elif isinstance(node, ast.Assert):
            self.tests.append((node.test, True))
        elif isinstance(node, ast.If):
            if node.body and all(isinstance(statement, ast.Raise) for statement in node.body[:1]):
                self.tests.append((node.test, True))
        if isinstance(node, ast.Attribute):
            self._attribute(node)
        elif isinstance(node, ast.Call):
            self._call(node)
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id in self.params:
            index = node.slice
            uses = self._uses(node.value.id)
            if isinstance(index, ast.Constant) and isinstance(index.value, str):
                uses.mapping = True
            else:
                uses.sized = True
        elif isinstance(node, ast.keyword) and node.arg is None and isinstance(node.value, ast.Name) and node.value.id in self.params:
            self._uses(node.value.id).mapping = True
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                if key is None and isinstance(value, ast.Name) and value.id in self.params:
                    self._uses(value.id).mapping = True

    def _uses(self, name: str) -> _Uses:
        found = self.uses.get(name)
        if found is None:
            found = self.uses[name] = _Uses()
        return found

    def _loop_owner(self, target: ast.AST, iterable: ast.AST) -> None:
        source = iterable
        if isinstance(source, ast.Call) and isinstance(source.func, ast.Name) and source.func.id in ("enumerate", "reversed", "sorted", "list", "tuple") and source.args:
            source = source.args[0]
            if isinstance(iterable.func, ast.Name) and iterable.func.id == "enumerate" and isinstance(target, ast.Tuple) and len(target.elts) == 2:
                target = target.elts[1]
        if isinstance(source, ast.Name) and source.id in self.params and isinstance(target, ast.Name):
            self.loop_owner[target.id] = source.id
            self._uses(source.id).iterated = True

    def _attribute(self, node: ast.Attribute) -> None:
        if node.attr in ("cpu", "numpy", "pin_memory"):
            self.host_calls = True
        owner = node.value
        if isinstance(owner, ast.Name):
            if owner.id in self.params:
                self._uses(owner.id).attrs.add(node.attr)
            elif owner.id in self.loop_owner:
                self._uses(self.loop_owner[owner.id]).element_attrs.add(node.attr)

    def _call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name):
            if func.id in self.params:
                self._uses(func.id).called = True
            elif func.id in ("len", "next") and node.args and isinstance(node.args[0], ast.Name) and node.args[0].id in self.params:
                uses = self._uses(node.args[0].id)
                if func.id == "len":
                    uses.sized = True
                else:
                    uses.stepped = True
        elif isinstance(func, ast.Attribute):
            owner = func.value
            if isinstance(owner, ast.Name) and owner.id in self.params and func.attr in _MAPPING_METHODS:
                self._uses(owner.id).mapping = True
            if func.attr in ("register_buffer", "register_parameter") and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    self.registered.add(first.value)
            if func.attr == "__init__" and isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name) and owner.func.id == "super":
                self.super_calls.append(node)
            qualified = self.qualified(func) or ""
            if qualified.startswith("torch.cuda.") and qualified.rpartition(".")[2] not in _CUDA_PROBES:
                self.cuda_api = True

    # -- evaluating ------------------------------------------------------------------------

    def verdict(self, device: ast.arg, literal: str) -> Verdict:
        params = dict(self.params)
        for name, param in params.items():
            if param.kind == UNKNOWN and param.star != "**":
                param.kind = use_kind(self.uses.get(name))
            elif param.kind in (TENSOR, TENSORS, PARAMETERS) and self.uses.get(name) is not None and self.uses[name].mapping:
                param.kind = NOT_TENSOR
        run = _Run(self, device.arg, params)
        run.solve()
        reasons = run.reasons
        silenced = None
        if reasons:
            silenced = self._silenced(device.arg, literal)
        stepped = {name for name, uses in self.uses.items() if uses.stepped}
        return Verdict(
            reasons, silenced, params, sorted(run.reached_self), sorted(run.moved_modules),
            stepped, set(run.self_values) | self.registered, self.function.name == "__init__",
        )

    def _silenced(self, device: str, literal: str) -> str | None:
        kind = literal.partition(":")[0]
        if self.host_calls:
            return "moves to host"
        for test, _ in self.tests:
            if self._accepts_only(test, device, kind):
                return f"accepts only {kind}"
        if kind != "cpu" and self.cuda_api:
            return "CUDA-only API"
        return None

    def _accepts_only(self, test: ast.AST, device: str, kind: str) -> bool:
        mentions = False
        strings = []
        for node in ast.walk(test):
            if isinstance(node, ast.Name) and node.id == device:
                mentions = True
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                strings.append(node.value)
        return mentions and bool(strings) and all(value.partition(":")[0] == kind for value in strings)


class _Run:
    """The taint fixpoint for one device parameter."""

    def __init__(self, flow: FunctionFlow, device: str, params: dict[str, Param]) -> None:
        self.flow = flow
        self.device = device
        self.params = params
        self.names: dict[str, int] = {}
        for name, param in params.items():
            if name == device:
                self.names[name] = D
            elif param.kind in (TENSOR, TENSORS, PARAMETERS, MODULE):
                self.names[name] = IV
        self.modules = {name for name, param in params.items() if param.kind == MODULE}
        self.self_device: set[str] = set()
        self.self_module: dict[str, str] = {}
        self.self_values: dict[str, int] = {}
        self.memo: dict[int, int] = {}
        self.recording = False
        self.reasons: set[str] = set()
        self.moved_modules: set[str] = set()
        self.reached_self: set[str] = set()

    def solve(self) -> None:
        flow = self.flow
        for call in flow.super_calls:
            for keyword in call.keywords:
                if keyword.arg and isinstance(keyword.value, ast.Name) and keyword.value.id == self.device:
                    self.self_device.add(keyword.arg)
        for _ in range(_PASSES):
            before = (dict(self.names), dict(self.self_values), set(self.self_device), dict(self.self_module))
            self._pass()
            if before == (self.names, self.self_values, self.self_device, self.self_module):
                break
        self.recording = True
        self._pass()
        self._stores()
        self._delegation()

    def _pass(self) -> None:
        self.memo = {}
        flow = self.flow
        for target, value, _ in flow.assignments:
            taint = self.eval(value) if value is not None else 0
            self._bind(target, taint, value)
        for target, iterable in flow.loops:
            self._bind(target, self.eval(iterable), None)
        for node in flow.aug:
            target, value = self.eval(node.target), self.eval(node.value)
            if self.recording:
                self._combine(target | value, node)
            self._bind(node.target, value, None, augmented=True)
        for expr in flow.exprs:
            self.eval(expr)
        for value in flow.returns:
            taint = self.eval(value)
            if self.recording:
                if taint & DVI:
                    self.reasons.add("returned")
                elif taint & DV and taint & IV:
                    self.reasons.add("returned together")

    def _bind(self, target: ast.AST, taint: int, value: ast.AST | None, augmented: bool = False) -> None:
        if isinstance(target, ast.Name):
            name = target.id
            if name in self.params and name != self.device and not augmented and not taint & (IV | DV | D):
                return  # a parameter rebound from something unrelated keeps its own taint
            self.names[name] = self.names.get(name, 0) | taint
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._bind(element.value if isinstance(element, ast.Starred) else element, taint, None, augmented)
        elif isinstance(target, ast.Subscript):
            self._bind(target.value, taint & ~D, None, augmented=True)
        elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self":
            attr = target.attr
            if taint & D and not taint & (DV | IV):
                self.self_device.add(attr)
            if isinstance(value, ast.Name) and value.id in self.modules:
                self.self_module[attr] = value.id
            self.self_values[attr] = self.self_values.get(attr, 0) | taint

    def _stores(self) -> None:
        values = self.self_values.values()
        derived = any(taint & DVI for taint in values)
        inputs = any(taint & IV and not taint & (DV | D) for taint in values)
        if derived and inputs:
            self.reasons.add("stored side by side")

    def _delegation(self) -> None:
        for call in self.flow.super_calls:
            passes_device = any(isinstance(k.value, ast.Name) and k.value.id == self.device for k in call.keywords) or any(
                isinstance(a, ast.Name) and a.id == self.device for a in call.args
            )
            modules = [v.id for v in [*call.args, *(k.value for k in call.keywords)] if isinstance(v, ast.Name) and v.id in self.modules]
            if passes_device and modules:
                self.reasons.add("delegates the move")
                self.moved_modules.update(modules)

    def _combine(self, taint: int, node: ast.AST) -> None:
        if taint & DV and taint & IV:
            self.reasons.add("combined")

    # -- expression taint ------------------------------------------------------------------

    def eval(self, node: ast.AST | None) -> int:
        if node is None:
            return 0
        key = id(node)
        found = self.memo.get(key)
        if found is not None:
            return found
        self.memo[key] = 0
        taint = self._eval(node)
        self.memo[key] = taint
        return taint

    def _eval(self, node: ast.AST) -> int:
        if isinstance(node, ast.Name):
            return self.names.get(node.id, 0)
        if isinstance(node, ast.Attribute):
            return self._attribute(node)
        if isinstance(node, ast.Call):
            return self._call(node)
        if isinstance(node, (ast.BinOp, ast.Compare)):
            parts = [node.left, node.right] if isinstance(node, ast.BinOp) else [node.left, *node.comparators]
            taint = 0
            for part in parts:
                taint |= self.eval(part)
            if self.recording:
                self._combine(taint, node)
            return _computed(taint & ~D)
        if isinstance(node, ast.BoolOp):
            taint = 0
            for value in node.values:
                taint |= self.eval(value)
            return taint
        if isinstance(node, ast.UnaryOp):
            return _computed(self.eval(node.operand))
        if isinstance(node, ast.IfExp):
            self.eval(node.test)
            return self.eval(node.body) | self.eval(node.orelse)
        if isinstance(node, ast.Subscript):
            self.eval(node.slice)
            return self.eval(node.value) & ~D
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            taint = 0
            for element in node.elts:
                taint |= self.eval(element)
            return taint & ~D
        if isinstance(node, ast.Dict):
            taint = 0
            for key in node.keys:
                self.eval(key)
            for value in node.values:
                taint |= self.eval(value)
            return taint & ~D
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            for generator in node.generators:
                self._bind(generator.target, self.eval(generator.iter), None)
                for condition in generator.ifs:
                    self.eval(condition)
            if isinstance(node, ast.DictComp):
                self.eval(node.key)
                return self.eval(node.value) & ~D
            return self.eval(node.elt) & ~D
        if isinstance(node, (ast.Starred, ast.Await)):
            return self.eval(node.value)
        if isinstance(node, ast.NamedExpr):
            taint = self.eval(node.value)
            self._bind(node.target, taint, node.value)
            return taint
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            return self.eval(node.value)
        if isinstance(node, ast.JoinedStr):
            for value in node.values:
                self.eval(value)
            return 0
        if isinstance(node, ast.FormattedValue):
            self.eval(node.value)
            return 0
        return 0

    def _attribute(self, node: ast.Attribute) -> int:
        owner = node.value
        if isinstance(owner, ast.Name) and owner.id == "self" and self.flow.in_class:
            attr = node.attr
            if attr in self.self_device:
                return D
            taint = self.self_values.get(attr, 0)
            if attr in self.self_module:
                taint |= IV
            if attr in self.flow.facts.tensor_attrs or attr in self.flow.facts.module_attrs:
                if not taint & (DV | D):
                    self.reached_self.add(attr)
                    taint |= IV
            return taint
        taint = self.eval(owner)
        attr = node.attr
        if attr == "device":
            return 0
        if attr in _NUMBER_ATTRS:
            return REF if taint & (IV | REF) else 0
        if attr in ("data", "T", "mT"):
            return taint & ~D
        return _computed(taint & ~D)

    def _call(self, node: ast.Call) -> int:
        func = node.func
        args = [*node.args, *(keyword.value for keyword in node.keywords)]
        arg_taints = [self.eval(arg) for arg in args]
        merged = 0
        for taint in arg_taints:
            merged |= taint
        if isinstance(func, ast.Attribute):
            method = func.attr
            if method == "__init__" and isinstance(func.value, ast.Call) and isinstance(func.value.func, ast.Name) and func.value.func.id == "super":
                return 0
            receiver = self.eval(func.value)
            if method in ("to", "cuda") and merged & D:
                if self.recording:
                    self._moved(func.value)
                result = DV
                if receiver & (CIV | DVI | REF):
                    result |= DVI
                return result
            qualified = self.flow.qualified(func) or ""
            if qualified.startswith("torch."):
                return self._torch_call(node, qualified, merged)
            if method in _NUMBER_METHODS:
                return REF if receiver & (IV | REF) else 0
            if method in _CONTAINER_MUTATORS and isinstance(func.value, ast.Name):
                name = func.value.id
                if name not in self.params:
                    self.names[name] = self.names.get(name, 0) | (merged & ~D)
                return 0
            if method == "register_buffer" or method == "register_parameter":
                return 0
            combined = receiver | (merged & ~D)
            if self.recording and receiver & (IV | DV) and merged & (IV | DV):
                self._combine(combined, node)
            return _computed(combined & ~D)
        qualified = self.flow.qualified(func) or ""
        if qualified.startswith("torch."):
            return self._torch_call(node, qualified, merged)
        if isinstance(func, ast.Name):
            name = func.id
            if name in self.modules:
                if self.recording:
                    self._combine(IV | merged, node)
                return _computed(IV | (merged & ~D))
            if name in ("len", "float", "int", "bool", "complex"):
                return REF if merged & (IV | REF) else 0
            if name in ("str", "repr"):
                return merged & D
            if name in _PASS_THROUGH_BUILTINS:
                return merged & ~D
        return 0

    def _torch_call(self, node: ast.Call, qualified: str, merged: int) -> int:
        short = qualified.rpartition(".")[2]
        if qualified == "torch.device":
            return merged & D
        placed = any(keyword.arg == "device" and self.eval(keyword.value) & D for keyword in node.keywords)
        if placed:
            others = 0
            for arg in node.args:
                others |= self.eval(arg)
            for keyword in node.keywords:
                if keyword.arg != "device":
                    others |= self.eval(keyword.value)
            if short in _LIKE_FACTORIES or others & (IV | REF | CIV | DVI):
                return DV | DVI
            return DV
        if short[:1].isupper() or qualified.startswith(("torch.cuda.", "torch.distributed.", "torch.utils.", "torch.backends.")):
            return 0
        if self.recording:
            self._combine(merged, node)
        return _computed(merged & ~D)

    def _moved(self, receiver: ast.AST) -> None:
        name = None
        if isinstance(receiver, ast.Name) and receiver.id in self.modules:
            name = receiver.id
        elif isinstance(receiver, ast.Attribute) and isinstance(receiver.value, ast.Name) and receiver.value.id == "self":
            name = self.self_module.get(receiver.attr)
        if name is not None:
            self.reasons.add("moves the caller's module")
            self.moved_modules.add(name)


def _computed(taint: int) -> int:
    return taint | CIV if taint & IV else taint


def class_facts(class_def: ast.ClassDef, qualified: QualifiedName) -> ClassFacts:
    """The tensors and modules a class keeps on ``self`` (one walk of the class)."""
    facts = ClassFacts(class_def.name)
    for node in ast.walk(class_def):
        record_class_fact(facts, node, qualified)
    for statement in class_def.body:
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            kind = annotation_info(statement.annotation).kind
            if kind == TENSOR:
                facts.tensor_attrs.add(statement.target.id)
    return facts


def record_class_fact(facts: ClassFacts, node: ast.AST, qualified: QualifiedName) -> None:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("register_buffer", "register_parameter"):
        if isinstance(node.func.value, ast.Name) and node.func.value.id == "self" and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                facts.tensor_attrs.add(first.value)
    elif isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self":
                if isinstance(node, ast.AnnAssign) and annotation_info(node.annotation).kind == TENSOR:
                    facts.tensor_attrs.add(target.attr)
                value = node.value
                if isinstance(value, ast.Call):
                    name = qualified(value.func) or ""
                    if name in ("torch.nn.Parameter", "torch.nn.parameter.Parameter"):
                        facts.tensor_attrs.add(target.attr)


def class_convention(methods: Iterable[ast.FunctionDef | ast.AsyncFunctionDef], qualified: QualifiedName) -> set[tuple[str, str]]:
    """(parameter, literal) pairs that three or more methods of one class share."""
    counts: dict[tuple[str, str], int] = {}
    for method in methods:
        for arg, _, literal in literal_defaults(method, qualified):
            counts[(arg.arg, literal)] = counts.get((arg.arg, literal), 0) + 1
    return {pair for pair, count in counts.items() if count >= 3}


# -- deciding a whole function ----------------------------------------------------------------


@dataclass(slots=True)
class Source:
    """Where a fix can read the device from."""

    name: str  # parameter name, or "self.attr"
    kind: str  # TENSOR, MODULE, TENSORS, PARAMETERS
    wrap: str = ""  # "", "list" (one-shot: always), "check" (may be one-shot)
    inline_ok: bool = True  # ``next((t.device for t in x), default)`` is valid for its elements


@dataclass(slots=True)
class Decision:
    arg: ast.arg
    default: ast.expr
    literal: str
    reasons: tuple[str, ...]
    source: Source | None


def check_function(
    function: ast.FunctionDef | ast.AsyncFunctionDef,
    qualified: QualifiedName,
    facts: ClassFacts | None,
    scope_names: list[str],
    cuda_path: bool,
    convention: set[tuple[str, str]] = frozenset(),  # type: ignore[assignment]
) -> list[Decision]:
    """The defaulted device parameters of ``function`` that GL003 reports."""
    defaults = literal_defaults(function, qualified)
    if not defaults:
        return []
    names = [function.name, *scope_names]
    if any(is_host_name(name) for name in names):
        return []
    flow = FunctionFlow(function, qualified, facts)
    decisions = []
    for arg, default, literal in defaults:
        if is_host_name(arg.arg) or (arg.arg, literal) in convention:
            continue
        if not literal.startswith("cpu") and (cuda_path or any(is_cuda_name(name) for name in names)):
            continue
        verdict = flow.verdict(arg, literal)
        if not verdict.reasons or verdict.silenced:
            continue
        decisions.append(Decision(arg, default, literal, tuple(sorted(verdict.reasons)), choose_source(verdict, arg.arg)))
    return decisions


_PRIORITY = {MODULE: 0, TENSOR: 1, PARAMETERS: 2, TENSORS: 3}


def choose_source(verdict: Verdict, device: str) -> Source | None:
    """The argument a fix infers the device from: the caller's module, else a tensor, else
    a collection of tensors/parameters; never an optional one, a mapping or ``**kwargs``."""
    candidates = []
    for index, (name, param) in enumerate(verdict.params.items()):
        if name == device or param.star == "**" or param.has_none_default or param.kind not in _PRIORITY:
            continue
        if name in verdict.stepped:
            continue  # next(x): listing it would break the function, reading it would consume it
        if param.star == "*" and param.kind != TENSORS:
            continue
        moved = 0 if name in verdict.moved_modules else 1
        candidates.append((moved, _PRIORITY[param.kind], index, param))
    if candidates:
        param = min(candidates, key=lambda item: item[:3])[3]
        if param.kind in (TENSORS, PARAMETERS):
            if param.star == "*" or param.info.reiterable:
                wrap = ""
            elif param.info.one_shot:
                wrap = "list"
            else:
                wrap = "check"
            annotation = _dotted(param.node.annotation) if param.node.annotation is not None else ""
            inline = annotation.rpartition(".")[2] not in _PARAMETERS_ANNOTATIONS or annotation.endswith("ParameterList")
            return Source(param.name, param.kind, wrap, inline)
        return Source(param.name, param.kind)
    # A tensor held on self, if it exists before the function runs (not set up by it).
    held = [attr for attr in verdict.self_tensors if attr not in verdict.assigned_self]
    if held and not verdict.is_init:
        return Source(f"self.{held[0]}", TENSOR)
    return None


# -- across files: a subclass that hands the caller's module and the default to its base -------
#
# Facts (JSON) per file: ``{"t": "mover", "c": class, "i": index, "p": name}`` for a class whose
# ``__init__`` moves (or hands on to be moved) its parameter at positional ``index`` / keyword
# ``name``; ``{"t": "del", "c": class, "b": [bases], "a": {index: name}, "k": {kw: name}, ...}``
# for an ``__init__`` with a literal device default that forwards parameters and that default to
# ``super().__init__`` and was not reported in its own file (the forwarded parameter's kind is
# unknown there). The reduce step reports a delegator whose base, by class name anywhere in the
# project, moves the parameter it forwards.

_MESSAGE_MOVES = "`{name}` defaults to '{literal}' and moves the caller's module"


def positional_names(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    """Positional parameter names after ``self``."""
    names = [arg.arg for arg in [*function.args.posonlyargs, *function.args.args]]
    return names[1:] if names and names[0] in ("self", "cls") else names


def mover_fact(class_name: str, function: ast.FunctionDef | ast.AsyncFunctionDef, moved: Iterable[str]) -> list[dict]:
    positional = positional_names(function)
    return [
        {"t": "mover", "c": class_name, "i": positional.index(name) if name in positional else -1, "p": name}
        for name in sorted(set(moved))
    ]


def delegation_fact(
    class_def: ast.ClassDef, function: ast.FunctionDef | ast.AsyncFunctionDef, arg: ast.arg, literal: str, place: dict
) -> dict | None:
    """The super().__init__ call of ``function`` forwarding parameters and the default, if any."""
    own = set(positional_names(function)) | {a.arg for a in function.args.kwonlyargs}
    device = arg.arg
    for node in ast.walk(function):
        if not (
            isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "__init__"
            and isinstance(node.func.value, ast.Call) and isinstance(node.func.value.func, ast.Name)
            and node.func.value.func.id == "super"
        ):
            continue
        passes = any(isinstance(k.value, ast.Name) and k.value.id == device for k in node.keywords) or any(
            isinstance(a, ast.Name) and a.id == device for a in node.args
        )
        positional = {str(i): a.id for i, a in enumerate(node.args) if isinstance(a, ast.Name) and a.id in own and a.id != device}
        keywords = {k.arg: k.value.id for k in node.keywords if k.arg and isinstance(k.value, ast.Name) and k.value.id in own and k.value.id != device}
        if passes and (positional or keywords):
            bases = [_dotted(base).rpartition(".")[2] for base in class_def.bases]
            names = positional_names(function)
            index = {name: names.index(name) for name in [*positional.values(), *keywords.values()] if name in names}
            return {"t": "del", "c": class_def.name, "b": [b for b in bases if b], "a": positional, "k": keywords,
                    "pi": index, "n": device, "lit": literal, **place}
    return None


def reduce_delegations(facts: dict, settings: object) -> list:
    """Project step: delegators whose base class (by name) moves what they forward."""
    from gradlint.findings import Finding, Location

    movers: dict[str, list[dict]] = {}
    delegators: list[tuple[str, dict]] = []
    for path, items in facts.items():
        for fact in items:
            if fact.get("t") == "mover":
                movers.setdefault(fact["c"], []).append(fact)
            elif fact.get("t") == "del":
                delegators.append((path, fact))
    findings = []
    reported: set[int] = set()
    changed = True
    while changed:  # a reported delegator moves the module too: its own subclasses may delegate to it
        changed = False
        for index, (path, fact) in enumerate(delegators):
            if index in reported:
                continue
            hits = [
                name
                for base in fact["b"]
                for mover in movers.get(base, ())
                for name in [fact["a"].get(str(mover["i"])), fact["k"].get(mover["p"])]
                if name
            ]
            if not hits:
                continue
            reported.add(index)
            changed = True
            movers.setdefault(fact["c"], []).append({"t": "mover", "c": fact["c"], "i": fact.get("pi", {}).get(hits[0], -1), "p": hits[0]})
            if fact.get("q"):
                continue
            findings.append(
                Finding(
                    path=path,
                    code="GL003",
                    message=_MESSAGE_MOVES.format(name=fact["n"], literal=fact["lit"]),
                    location=Location(fact["l"], fact["col"]),
                    end_location=Location(fact["el"], fact["ec"]),
                    fix=None,
                    noqa_row=fact["s"],
                )
            )
    return findings
