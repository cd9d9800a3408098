"""What protects a use of an API that may be missing: try handlers, attribute probes, version gates.

A :class:`Guard` is what holds at a point of the code: "inside a ``try`` that falls back"
(covers every name), "on the old-torch branch of a version gate" (every name), "inside
``if TYPE_CHECKING``" (never runs), or "``owner.attr`` is known to exist" (covers that name
and what is below it). :func:`guards_of` turns an ``if`` test into the guards that hold where
the test is true and where it is false.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gradlint.semantic.syntax import dotted_name as dotted

if TYPE_CHECKING:
    from gradlint.semantic.model import SemanticModel


@dataclass(frozen=True, slots=True)
class Guard:
    """``kind`` is "try", "version", "type-checking" or "attr" (with the guarded ``name``)."""

    kind: str
    name: str = ""

    def covers(self, qualified: str) -> bool:
        if self.kind != "attr":
            return True
        return qualified == self.name or qualified.startswith(self.name + ".")


TRY_GUARD = Guard("try")
VERSION_GUARD = Guard("version")
TYPE_CHECKING_GUARD = Guard("type-checking")
Guards = tuple[tuple[Guard, ...], tuple[Guard, ...]]
NO_GUARDS: Guards = ((), ())

# Exceptions whose handler makes a ``try`` a fallback for a missing or changed API.
GUARD_EXCEPTIONS = frozenset(
    {"AttributeError", "ImportError", "ModuleNotFoundError", "NotImplementedError", "Exception", "BaseException"}
)
# A handler for these runs only where a name is missing: its body is an old-version fallback.
MISSING_NAME_EXCEPTIONS = frozenset({"AttributeError", "ImportError", "ModuleNotFoundError"})
_EXITS = (ast.Return, ast.Raise, ast.Continue, ast.Break)
_NEWER_WORDS = frozenset({"GREATER", "GE", "GEQ", "GT", "NEWER", "LEAST", "ATLEAST", "ABOVE", "AFTER", "MIN"})
_OLDER_WORDS = frozenset({"LESS", "LT", "LE", "LEQ", "OLDER", "BELOW", "BEFORE", "PRE", "LEGACY", "OLD"})
_VERSION_WORDS = frozenset({"TORCH", "VERSION", "PT", "PYTORCH", "TH"})
# ``WITH_PT23``, ``_TORCH_2_1``, ``IS_TORCH_2``: a flag named after a torch version is true on newer torch.
_VERSION_FLAG = re.compile(r"(?:^|_)(?:PT|TORCH|PYTORCH|TH)_?\d+(?:_\d+)*(?:_PLUS|_OR_NEWER|_AVAILABLE)?$", re.I)
_OPERATORS = {"<": "old", "<=": "old", "lt": "old", "le": "old", ">": "new", ">=": "new", "gt": "new", "ge": "new"}


def catches(handler: ast.ExceptHandler, names: frozenset[str]) -> bool:
    """Whether the handler names one of ``names`` (``except (A, B)`` and ``mod.A`` included)."""
    if handler.type is None:
        return False
    kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any((dotted(kind) or "").rpartition(".")[2] in names for kind in kinds)


def try_guards(node: ast.Try) -> tuple[Guard, ...]:
    """The guard a ``try`` body gets: one if some handler is a fallback for a missing API."""
    if any(handler.type is None or catches(handler, GUARD_EXCEPTIONS) for handler in node.handlers):
        return (TRY_GUARD,)
    return ()


def handler_guards(handler: ast.ExceptHandler) -> tuple[Guard, ...]:
    """``except ImportError: from torch.x import _old as new`` is the old-torch fallback."""
    return (VERSION_GUARD,) if catches(handler, MISSING_NAME_EXCEPTIONS) else ()


def decorator_guards(decorators: list[ast.expr]) -> tuple[Guard, ...]:
    """``@implement_for("torch", None, "2.3")``: a body used only below a torch version is the
    old-version branch of a gate (one with no upper bound is the current code, not a guard)."""
    for decorator in decorators:
        if not isinstance(decorator, ast.Call) or not decorator.args or _string(decorator.args[0]) != "torch":
            continue
        upper = decorator.args[2] if len(decorator.args) >= 3 else None
        for keyword in decorator.keywords:
            if keyword.arg in ("to", "to_version", "max_version", "before", "upper"):
                upper = keyword.value
        if upper is not None and _string(upper) is not None:
            return (VERSION_GUARD,)
    return ()


def ends_in_exit(body: list[ast.stmt]) -> bool:
    return bool(body) and isinstance(body[-1], _EXITS)


def _string(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _is_private(segment: str) -> bool:
    return segment.startswith("_") and not (segment.startswith("__") and segment.endswith("__"))


def _torch_owner(model: SemanticModel, node: ast.AST) -> str | None:
    qualified = model.qualified_name(node)
    if qualified is None or not (qualified == "torch" or qualified.startswith("torch.")):
        return None
    return qualified


def attribute_probe(model: SemanticModel, owner: ast.AST, attr: ast.AST) -> Guards | None:
    """What ``hasattr(owner, "attr")`` being true guarantees, and its being false.

    True: ``owner.attr`` exists. Probing a *public* name: where it is missing the code is on
    the old-torch branch, so the false side is a version guard (the private name is the
    old API's spelling).
    """
    name = _string(attr)
    if name is None:
        return None
    owner_name = _torch_owner(model, owner)
    if owner_name is None:
        return None
    positive = (Guard("attr", f"{owner_name}.{name}"),)
    negative: tuple[Guard, ...] = () if _is_private(name) else (VERSION_GUARD,)
    return positive, negative


def _getattr_probe(model: SemanticModel, call: ast.AST) -> Guards | None:
    if (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Name)
        and call.func.id == "getattr"
        and len(call.args) >= 2
    ):
        return attribute_probe(model, call.args[0], call.args[1])
    return None


def guards_of(model: SemanticModel, test: ast.AST) -> Guards:
    """Guards that hold where ``test`` is true, and where it is false."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        positive, negative = guards_of(model, test.operand)
        return negative, positive
    if isinstance(test, ast.BoolOp):
        sides = [guards_of(model, value) for value in test.values]
        if isinstance(test.op, ast.And):
            return tuple(g for side in sides for g in side[0]), ()
        return (), tuple(g for side in sides for g in side[1])
    if isinstance(test, ast.Name) and test.id in model.guard_names:
        return model.guard_names[test.id]
    if isinstance(test, ast.Call):
        found = _call_guards(model, test)
        if found is not None:
            return found
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        found = _comparison_guards(model, test)
        if found is not None:
            return found
    if isinstance(test, (ast.Name, ast.Attribute)) and (dotted(test) or "").rpartition(".")[2] == "TYPE_CHECKING":
        return (TYPE_CHECKING_GUARD,), ()
    direction = version_direction(model, test)
    if direction == "old":
        return (VERSION_GUARD,), ()
    if direction == "new":
        return (), (VERSION_GUARD,)
    return NO_GUARDS


def _call_guards(model: SemanticModel, call: ast.Call) -> Guards | None:
    func = call.func
    if isinstance(func, ast.Name):
        if func.id == "hasattr" and len(call.args) == 2:
            return attribute_probe(model, call.args[0], call.args[1])
        if func.id == "callable" and len(call.args) == 1:
            return _getattr_probe(model, call.args[0])
    return None


def _comparison_guards(model: SemanticModel, test: ast.Compare) -> Guards | None:
    operator, right = test.ops[0], test.comparators[0]
    # "_x" in dir(owner)
    if (
        isinstance(operator, (ast.In, ast.NotIn))
        and isinstance(right, ast.Call)
        and isinstance(right.func, ast.Name)
        and right.func.id == "dir"
        and len(right.args) == 1
    ):
        found = attribute_probe(model, right.args[0], test.left)
        if found is None:
            return None
        return found if isinstance(operator, ast.In) else (found[1], found[0])
    # getattr(owner, "_x", None) is not None
    if isinstance(operator, (ast.IsNot, ast.Is)) and isinstance(test.left, ast.Call):
        found = _getattr_probe(model, test.left)
        if found is None:
            return None
        return found if isinstance(operator, ast.IsNot) else (found[1], found[0])
    return None


def _version_words(name: str) -> str | None:
    """'new' or 'old' for names like ``_TORCH_GREATER_EQUAL_2_1`` or ``is_torch_less_than``."""
    words = set(re.split(r"[_.]+", name.upper()))
    if not words & _VERSION_WORDS and not _VERSION_FLAG.search(name.rpartition(".")[2]):
        return None
    if words & _OLDER_WORDS:
        return "old"
    if words & _NEWER_WORDS or ("AT" in words and "LEAST" in words):
        return "new"
    if _VERSION_FLAG.search(name.rpartition(".")[2]):
        return "new"
    return None


def mentions_version(node: ast.AST) -> bool:
    """Whether an expression reads a version (``torch.__version__``, ``TORCH_VERSION``...)."""
    if isinstance(node, (ast.Name, ast.Attribute)):
        name = (dotted(node) or "").lower()
        return "version" in name and "version_info" not in name
    if isinstance(node, ast.Call):
        return mentions_version(node.func) or any(mentions_version(arg) for arg in node.args)
    if isinstance(node, ast.Subscript):
        return mentions_version(node.value)
    return False


def version_direction(model: SemanticModel, test: ast.AST) -> str | None:
    """Whether ``test`` is true on older torch ("old"), on newer torch ("new"), or unknown."""
    if isinstance(test, (ast.Name, ast.Attribute)):
        name = dotted(test) or ""
        flag = model.version_flags.get(name) if isinstance(test, ast.Name) else None
        return flag if flag is not None else _version_words(name)
    if isinstance(test, ast.Call):
        name = dotted(test.func) or ""
        short = name.rpartition(".")[2]
        operator = _string(test.args[0]) if test.args else None
        known = model.version_functions.get(short)
        if operator is not None and operator.strip() in _OPERATORS and (known == "compare" or _compares_version(short)):
            # is_torch_version("<", "2.2"): the operator says which side is the old one.
            return _OPERATORS[operator.strip()]
        if known in ("old", "new"):
            return known
        return _version_words(name)
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        operator, left, right = test.ops[0], test.left, test.comparators[0]
        if isinstance(operator, (ast.Lt, ast.LtE)):
            smaller_is_left = True
        elif isinstance(operator, (ast.Gt, ast.GtE)):
            smaller_is_left = False
        else:
            return None
        if mentions_version(left):
            return "old" if smaller_is_left else "new"
        if mentions_version(right):
            return "new" if smaller_is_left else "old"
    return None


def _compares_version(name: str) -> bool:
    words = set(re.split(r"[_.]+", name.upper()))
    return "VERSION" in words or bool(words & {"TORCH", "PT"} and words & {"CHECK", "COMPARE", "IS"})
