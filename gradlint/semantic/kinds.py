"""What a value is, where it can be known cheaply: a small, conservative inference.

Kinds come from annotations (``torch.Tensor``, ``Iterator[nn.Parameter]``, ``Callable``),
from calls (``model.parameters()``, ``torch._foreach_norm(...)``, ``x.norm()``, ``.item()``),
from attributes (``p.grad``, ``p.main_grad``, ``x.device``) and flow through assignments, loop
and comprehension targets (an element of a list of gradients is a gradient), simple returns of
local functions and ``self.attr = ...`` in a class. Anything else is ``UNKNOWN``: rules must
read UNKNOWN as "could be anything" and stay quiet on it when in doubt.

Results are memoized per node; a cycle (``x = f(x)``) resolves to UNKNOWN.
"""

from __future__ import annotations

import ast
from gradlint.semantic.syntax import dotted_name
import enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gradlint.semantic.model import Binding, SemanticModel


class Kind(enum.Enum):
    UNKNOWN = "unknown"
    TENSOR = "tensor"
    GRADIENT = "gradient"
    PARAMETER = "parameter"
    TENSORS = "tensors"
    GRADIENTS = "gradients"
    PARAMETERS = "parameters"
    NAMED_PARAMETERS = "named-parameters"
    NORM = "norm"
    NORMS = "norms"
    MODULE = "module"
    DEVICE = "device"
    NUMBER = "number"
    NUMBERS = "numbers"
    STRING = "string"
    CALLABLE = "callable"
    MAPPING = "mapping"
    CONFIG = "config"

    @property
    def is_tensor_like(self) -> bool:
        """A single tensor value (a gradient, a parameter or a norm are tensors too)."""
        return self in _TENSOR_LIKE

    @property
    def is_collection(self) -> bool:
        return self in _ELEMENT


_TENSOR_LIKE = frozenset({Kind.TENSOR, Kind.GRADIENT, Kind.PARAMETER, Kind.NORM})
_ELEMENT = {
    Kind.TENSORS: Kind.TENSOR,
    Kind.GRADIENTS: Kind.GRADIENT,
    Kind.PARAMETERS: Kind.PARAMETER,
    Kind.NORMS: Kind.NORM,
    Kind.NUMBERS: Kind.NUMBER,
}
_COLLECTION = {element: collection for collection, element in _ELEMENT.items()}
_COLLECTION[Kind.NAMED_PARAMETERS] = Kind.NAMED_PARAMETERS


def element_of(kind: Kind) -> Kind:
    """The kind of one element of a collection kind (UNKNOWN for anything else)."""
    return _ELEMENT.get(kind, Kind.UNKNOWN)


def collection_of(kind: Kind) -> Kind:
    """The collection kind whose elements have ``kind`` (UNKNOWN if there is none)."""
    return _COLLECTION.get(kind, Kind.UNKNOWN)


# -- names that carry meaning ------------------------------------------------------------

_NORM_FUNCTIONS = frozenset(
    {
        "torch.norm",
        "torch.linalg.norm",
        "torch.linalg.vector_norm",
        "torch.nn.utils.clip_grad_norm_",
        "torch.nn.utils.clip_grad_norm",
        "torch.nn.utils.get_total_norm",
        "torch.nn.utils.clip_grad.clip_grad_norm_",
        "torch.nn.utils.clip_grad.get_total_norm",
        "torch.frobenius_norm",
    }
)
_NORMS_FUNCTIONS = frozenset({"torch._foreach_norm"})
_DEVICE_FUNCTIONS = frozenset({"torch.device", "torch.get_default_device"})
_NUMBER_FUNCTIONS = frozenset(
    {"float", "int", "len", "abs", "round", "math.sqrt", "math.hypot", "math.log", "math.exp", "math.pow", "math.fsum"}
)
# Methods that return the same kind of tensor (a gradient cast to float32 is still that gradient).
_SAME_KIND_METHODS = frozenset(
    {
        "float", "double", "half", "bfloat16", "to", "detach", "clone", "contiguous", "view",
        "reshape", "flatten", "ravel", "cpu", "cuda", "type", "view_as", "data_ptr_free",
        "squeeze", "unsqueeze", "t", "coalesce", "to_dense", "requires_grad_", "detach_",
        "full_tensor", "to_local", "redistribute",
    }
)
_TENSOR_METHODS = frozenset(
    {
        "sum", "mean", "pow", "abs", "square", "sqrt", "exp", "log", "max", "min", "amax", "amin",
        "mul", "add", "sub", "div", "clamp", "clamp_", "mul_", "add_", "sub_", "div_", "zero_",
        "new_zeros", "new_ones", "new_empty", "new_full", "new_tensor", "sign", "neg", "prod",
        "matmul", "mm", "bmm", "dot", "std", "var", "cumsum", "masked_fill", "where",
    }
)
_PARAMETER_METHODS = {
    "parameters": Kind.PARAMETERS,
    "named_parameters": Kind.NAMED_PARAMETERS,
    "buffers": Kind.TENSORS,
    "values": Kind.UNKNOWN,
}
_COLLECTION_BUILTINS = frozenset({"list", "tuple", "sorted", "iter", "reversed", "set", "frozenset"})
_NOT_TENSOR_TORCH = frozenset(
    {
        "torch.device", "torch.dtype", "torch.Size", "torch.is_tensor", "torch.is_grad_enabled",
        "torch.get_default_dtype", "torch.finfo", "torch.iinfo", "torch.manual_seed",
        "torch.no_grad", "torch.enable_grad", "torch.inference_mode", "torch.set_grad_enabled",
        "torch.load", "torch.save", "torch.compile", "torch.jit.script", "torch.jit.trace",
        "torch.numel", "torch.is_floating_point", "torch.is_complex", "torch.typename",
    }
)
_ANNOTATION_KINDS = {
    "Tensor": Kind.TENSOR,
    "torch.Tensor": Kind.TENSOR,
    "torch.FloatTensor": Kind.TENSOR,
    "DTensor": Kind.TENSOR,
    "Parameter": Kind.PARAMETER,
    "nn.Parameter": Kind.PARAMETER,
    "torch.nn.Parameter": Kind.PARAMETER,
    "Module": Kind.MODULE,
    "nn.Module": Kind.MODULE,
    "torch.nn.Module": Kind.MODULE,
    "device": Kind.DEVICE,
    "torch.device": Kind.DEVICE,
    "str": Kind.STRING,
    "int": Kind.NUMBER,
    "float": Kind.NUMBER,
    "bool": Kind.NUMBER,
    "Callable": Kind.CALLABLE,
    "typing.Callable": Kind.CALLABLE,
    "collections.abc.Callable": Kind.CALLABLE,
    "dict": Kind.MAPPING,
    "Dict": Kind.MAPPING,
    "Mapping": Kind.MAPPING,
    "MutableMapping": Kind.MAPPING,
    "OrderedDict": Kind.MAPPING,
    "DictConfig": Kind.CONFIG,
    "Namespace": Kind.CONFIG,
    "argparse.Namespace": Kind.CONFIG,
    # torch.optim's alias for "an iterable of parameters or of parameter groups".
    "ParamsT": Kind.PARAMETERS,
    "_ParamsT": Kind.PARAMETERS,
    "_params_t": Kind.PARAMETERS,
}
_CONTAINER_ANNOTATIONS = frozenset(
    {"list", "List", "tuple", "Tuple", "Sequence", "Iterable", "Iterator", "Generator", "Collection", "set", "Set"}
)
_WRAPPER_ANNOTATIONS = frozenset({"Optional", "Union", "Annotated", "Final", "ClassVar"})


def _dotted(node: ast.AST) -> str:
    return dotted_name(node) or ""


def _short(name: str) -> str:
    return name.rpartition(".")[2]


def annotation_kind(annotation: ast.AST | None) -> Kind:
    """The kind an annotation promises (``Iterator[nn.Parameter]`` -> PARAMETERS)."""
    if annotation is None:
        return Kind.UNKNOWN
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        try:
            parsed = ast.parse(annotation.value, mode="eval").body
        except (SyntaxError, ValueError, RecursionError):
            return Kind.UNKNOWN
        return annotation_kind(parsed)
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        return _union_kind([annotation.left, annotation.right])
    if isinstance(annotation, ast.Subscript):
        outer = _dotted(annotation.value)
        short = _short(outer)
        inner = annotation.slice
        items = list(inner.elts) if isinstance(inner, ast.Tuple) else [inner]
        if short in _WRAPPER_ANNOTATIONS:
            return _union_kind(items[:1] if short in ("Annotated", "Final", "ClassVar") else items)
        if short in _CONTAINER_ANNOTATIONS and items:
            return collection_of(annotation_kind(items[0]))
        if short in ("Callable",):
            return Kind.CALLABLE
        if short in ("dict", "Dict", "Mapping", "MutableMapping", "OrderedDict"):
            return Kind.MAPPING
        return Kind.UNKNOWN
    name = _dotted(annotation)
    if not name:
        return Kind.UNKNOWN
    found = _ANNOTATION_KINDS.get(name) or _ANNOTATION_KINDS.get(_short(name))
    if found is not None:
        return found
    if _short(name).endswith(("Config", "Cfg", "Args", "Arguments", "Options", "Settings")):
        return Kind.CONFIG
    return Kind.UNKNOWN


def _union_kind(items: list[ast.expr]) -> Kind:
    kinds = {
        annotation_kind(item)
        for item in items
        if not (isinstance(item, ast.Constant) and item.value is None)
    }
    return kinds.pop() if len(kinds) == 1 else Kind.UNKNOWN


# -- inference ---------------------------------------------------------------------------


def infer(model: SemanticModel, expr: ast.AST | None) -> Kind:
    """The kind of ``expr``'s value (memoized on the model; cycles give UNKNOWN)."""
    if expr is None:
        return Kind.UNKNOWN
    key = id(expr)
    cache = model.kind_cache
    found = cache.get(key)
    if found is not None:
        return found
    cache[key] = Kind.UNKNOWN  # breaks cycles
    try:
        kind = _infer(model, expr)
    except RecursionError:
        kind = Kind.UNKNOWN
    cache[key] = kind
    return kind


def _infer(model: SemanticModel, expr: ast.AST) -> Kind:
    if isinstance(expr, ast.Name):
        return binding_kind(model, model.binding_of(expr))
    if isinstance(expr, ast.Constant):
        value = expr.value
        if isinstance(value, str):
            return Kind.STRING
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return Kind.NUMBER
        return Kind.UNKNOWN
    if isinstance(expr, ast.Attribute):
        return _attribute_kind(model, expr)
    if isinstance(expr, ast.Call):
        return _call_kind(model, expr)
    if isinstance(expr, (ast.List, ast.Tuple, ast.Set)):
        return _collection_of_all(model, [e.value if isinstance(e, ast.Starred) else e for e in expr.elts], expr.elts)
    if isinstance(expr, (ast.ListComp, ast.SetComp, ast.GeneratorExp)):
        return collection_of(infer(model, expr.elt))
    if isinstance(expr, (ast.Dict, ast.DictComp)):
        return Kind.MAPPING
    if isinstance(expr, ast.Lambda):
        return Kind.CALLABLE
    if isinstance(expr, ast.JoinedStr):
        return Kind.STRING
    if isinstance(expr, ast.Subscript):
        base = infer(model, expr.value)
        if base.is_collection:
            if isinstance(expr.slice, ast.Slice):
                return base
            return element_of(base)
        if base.is_tensor_like:
            return Kind.TENSOR if base is not Kind.NORM else Kind.NORM
        return Kind.UNKNOWN
    if isinstance(expr, ast.BinOp):
        left, right = infer(model, expr.left), infer(model, expr.right)
        if left is Kind.NUMBER and right is Kind.NUMBER:
            return Kind.NUMBER
        if left.is_tensor_like or right.is_tensor_like:
            return Kind.TENSOR
        if isinstance(expr.op, ast.Add) and left is right and left.is_collection:
            return left
        return Kind.UNKNOWN
    if isinstance(expr, ast.UnaryOp):
        return infer(model, expr.operand)
    if isinstance(expr, ast.IfExp):
        body, orelse = infer(model, expr.body), infer(model, expr.orelse)
        if body is orelse or _is_none(expr.orelse):
            return body
        if _is_none(expr.body):
            return orelse
        return Kind.UNKNOWN
    if isinstance(expr, ast.NamedExpr):
        return infer(model, expr.value)
    if isinstance(expr, ast.Starred):
        return infer(model, expr.value)
    return Kind.UNKNOWN


def _is_none(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _collection_of_all(model: SemanticModel, values: list[ast.expr], raw: list[ast.expr]) -> Kind:
    if not values:
        return Kind.UNKNOWN
    kinds = set()
    for value, item in zip(values, raw):
        kind = infer(model, value)
        kinds.add(element_of(kind) if isinstance(item, ast.Starred) else kind)
    if len(kinds) != 1:
        return Kind.UNKNOWN
    return collection_of(kinds.pop())


def _attribute_kind(model: SemanticModel, expr: ast.Attribute) -> Kind:
    attr = expr.attr
    if attr in ("grad", "main_grad"):
        return Kind.GRADIENT
    if attr == "device":
        return Kind.DEVICE
    if attr in ("data", "T", "mT", "real", "imag"):
        base = infer(model, expr.value)
        return base if base.is_tensor_like else Kind.UNKNOWN
    if isinstance(expr.value, ast.Name) and expr.value.id == "self":
        return _self_attribute_kind(model, expr)
    qualified = model.qualified_name(expr)
    if qualified in ("torch.float32", "torch.float16", "torch.bfloat16", "torch.float64"):
        return Kind.UNKNOWN
    return Kind.UNKNOWN


def _self_attribute_kind(model: SemanticModel, expr: ast.Attribute) -> Kind:
    owner = None
    for ancestor in model.ancestors(expr):
        if isinstance(ancestor, ast.ClassDef):
            owner = ancestor
            break
    if owner is None:
        owner = model.class_def
    if owner is None:
        return Kind.UNKNOWN
    values = model.attributes.get(id(owner), {}).get(expr.attr, ())
    kinds = {infer(model, value) for value in values if value is not expr}
    kinds.discard(Kind.UNKNOWN)
    return kinds.pop() if len(kinds) == 1 else Kind.UNKNOWN


def _call_kind(model: SemanticModel, call: ast.Call) -> Kind:
    func = call.func
    qualified = model.qualified_name(func)
    if qualified is not None:
        if qualified in _NORM_FUNCTIONS:
            return Kind.NORM
        if qualified in _NORMS_FUNCTIONS:
            return Kind.NORMS
        if qualified in _DEVICE_FUNCTIONS:
            return Kind.DEVICE
        if qualified in _NUMBER_FUNCTIONS:
            return Kind.NUMBER
        if qualified in ("torch.stack", "torch.cat", "torch.tensor", "torch.as_tensor") and call.args:
            inner = infer(model, call.args[0])
            if inner is Kind.NORMS:
                return Kind.NORMS
            return Kind.TENSOR
        if qualified.startswith("torch.nn.") and _short(qualified)[:1].isupper():
            if _short(qualified) == "Parameter":
                return Kind.PARAMETER
            return Kind.MODULE if not qualified.startswith("torch.nn.utils") else Kind.UNKNOWN
        if qualified.startswith("torch.") and qualified not in _NOT_TENSOR_TORCH:
            short = _short(qualified)
            if short[:1].isupper() or qualified.startswith(("torch.cuda.", "torch.distributed.", "torch.backends.", "torch.utils.", "torch.optim.", "torch.jit.", "torch.compiler.", "torch._dynamo.")):
                return Kind.UNKNOWN
            return Kind.TENSOR
    if isinstance(func, ast.Name):
        name = func.id
        if name in _NUMBER_FUNCTIONS:
            return Kind.NUMBER
        if name in _COLLECTION_BUILTINS and len(call.args) == 1:
            inner = infer(model, call.args[0])
            return inner if inner.is_collection else Kind.UNKNOWN
        if name == "dict":
            return Kind.MAPPING
        if name in ("sum", "max", "min") and call.args:
            inner = element_of(infer(model, call.args[0]))
            if inner is Kind.NUMBER:
                return Kind.NUMBER
            return Kind.TENSOR if inner.is_tensor_like else Kind.UNKNOWN
        binding = model.binding_of(func)
        if binding is not None and binding.kind == "function":
            return _returns_kind(model, binding.node)
        if binding is not None and binding.kind == "class" and _is_module_class(model, binding.node):
            return Kind.MODULE
        return Kind.UNKNOWN
    if isinstance(func, ast.Attribute):
        method = func.attr
        if method in _PARAMETER_METHODS:
            receiver = infer(model, func.value)
            if receiver in (Kind.MODULE, Kind.UNKNOWN, Kind.CONFIG) and not call.args:
                return _PARAMETER_METHODS[method] if method != "values" else Kind.UNKNOWN
            return Kind.UNKNOWN
        if method == "norm":
            receiver = infer(model, func.value)
            return Kind.NORM if receiver.is_tensor_like or receiver is Kind.UNKNOWN else Kind.UNKNOWN
        if method in ("item",):
            return Kind.NUMBER
        if method == "tolist":
            receiver = infer(model, func.value)
            return Kind.NUMBERS if receiver.is_tensor_like or receiver is Kind.NORMS else Kind.UNKNOWN
        receiver = infer(model, func.value)
        if method in _SAME_KIND_METHODS and (receiver.is_tensor_like or receiver is Kind.NORMS or receiver is Kind.MODULE):
            return receiver
        if method in _TENSOR_METHODS and (receiver.is_tensor_like or receiver is Kind.NORMS):
            return Kind.TENSOR
    return Kind.UNKNOWN


def _returns_kind(model: SemanticModel, function: ast.AST) -> Kind:
    returned = model.returns.get(function, ())
    kinds = {infer(model, value) for value in returned}
    return kinds.pop() if len(kinds) == 1 else Kind.UNKNOWN


def _is_module_class(model: SemanticModel, class_def: ast.AST) -> bool:
    if not isinstance(class_def, ast.ClassDef):
        return False
    return any(
        (model.qualified_name(base) or "").startswith("torch.nn.") or _short(_dotted(base)) == "Module"
        for base in class_def.bases
    )


def binding_kind(model: SemanticModel, binding: Binding | None) -> Kind:
    """The kind of the value a binding gives its name."""
    if binding is None:
        return Kind.UNKNOWN
    kind = binding.kind
    if kind == "param":
        found = annotation_kind(binding.annotation)
        if found is not Kind.UNKNOWN:
            return found
        return Kind.UNKNOWN
    if kind in ("assign", "walrus", "annotation", "with"):
        if binding.annotation is not None:
            found = annotation_kind(binding.annotation)
            if found is not Kind.UNKNOWN:
                return found
        value = binding.value
        if value is None:
            return Kind.UNKNOWN
        return _unpacked(model, value, binding.path)
    if kind in ("for", "comprehension"):
        return _iterated(model, binding.source, binding.path)
    if kind == "augassign":
        value = binding.value
        return infer(model, value) if value is not None else Kind.UNKNOWN
    if kind in ("function", "lambda"):
        return Kind.CALLABLE
    return Kind.UNKNOWN


def _unpacked(model: SemanticModel, value: ast.expr, path: tuple[int, ...]) -> Kind:
    for index in path:
        if isinstance(value, (ast.Tuple, ast.List)) and index < len(value.elts):
            value = value.elts[index]
        else:
            return Kind.UNKNOWN
    return infer(model, value)


def _iterated(model: SemanticModel, source: ast.expr | None, path: tuple[int, ...]) -> Kind:
    """The kind of a loop target (at ``path`` inside an unpacked target) over ``source``."""
    if source is None:
        return Kind.UNKNOWN
    if isinstance(source, ast.Call) and isinstance(source.func, ast.Name):
        name = source.func.id
        if name == "enumerate" and source.args and path[:1]:
            if path[0] == 0:
                return Kind.NUMBER if len(path) == 1 else Kind.UNKNOWN
            return _iterated(model, source.args[0], path[1:])
        if name == "zip" and path[:1] and path[0] < len(source.args):
            return _iterated(model, source.args[path[0]], path[1:])
    collection = infer(model, source)
    if collection is Kind.NAMED_PARAMETERS:
        if path == (1,):
            return Kind.PARAMETER
        if path == (0,):
            return Kind.STRING
        return Kind.UNKNOWN
    if path:
        return Kind.UNKNOWN
    if collection.is_collection:
        return element_of(collection)
    if collection is Kind.TENSOR:
        return Kind.TENSOR
    return Kind.UNKNOWN
