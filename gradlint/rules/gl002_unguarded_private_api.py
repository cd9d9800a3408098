"""GL002 unguarded-private-api."""

from __future__ import annotations

import ast
import fnmatch
import re
from dataclasses import dataclass

import libcst as cst

from gradlint.context import FileContext, FileInfo
from gradlint.names import attribute_chain, dotted_name
from gradlint.options import RUNTIME_MODULE_OPTION
from gradlint.prescreen import AstScreen, statements_holding
from gradlint.rule import NO_FIX, Fix, ImportSpec, Invalid, Option, Rule, Valid
from gradlint.rules._private_api_table import RUNTIME, public_equivalent

# Exceptions whose handler makes a ``try`` a fallback for a missing or changed private API.
_GUARD_EXCEPTIONS = frozenset(
    {
        "AttributeError",
        "ImportError",
        "ModuleNotFoundError",
        "NotImplementedError",
        "Exception",
        "BaseException",
    }
)
# A handler for these runs only where a name is missing: its body is an old-version fallback.
_MISSING_NAME_EXCEPTIONS = frozenset({"AttributeError", "ImportError", "ModuleNotFoundError"})
# Calls whose first argument is only probed for an attribute: that owner is part of the guard.
_PROBES = frozenset({"hasattr", "getattr", "dir"})
# Packages shipped in the torch distribution: their use of torch internals is not ours to judge.
_TORCH_OWN_PACKAGES = frozenset({"torch", "torchgen", "functorch"})
_NEWER_WORDS = frozenset({"GREATER", "GE", "GEQ", "GT", "NEWER", "LEAST", "ATLEAST", "ABOVE", "AFTER", "MIN"})
_OLDER_WORDS = frozenset({"LESS", "LT", "LE", "LEQ", "OLDER", "BELOW", "BEFORE", "PRE", "LEGACY", "OLD"})
_EXIT_STATEMENTS = (cst.Return, cst.Raise, cst.Continue, cst.Break)


def _is_private(segment: str) -> bool:
    return segment.startswith("_") and not (segment.startswith("__") and segment.endswith("__"))


def _has_private_part(qualified: str) -> bool:
    return any(_is_private(part) for part in qualified.split("."))


@dataclass(frozen=True, slots=True)
class _Guard:
    """What a guard protects: everything (``try``, old-version branch) or one ``owner.attr``."""

    kind: str
    name: str = ""

    def covers(self, qualified: str) -> bool:
        if self.kind != "attr":
            return True
        return qualified == self.name or qualified.startswith(self.name + ".")


_TRY_GUARD = _Guard("try")
# ``if TYPE_CHECKING:`` bodies never run, so nothing in them can fail at run time.
_TYPE_CHECKING_GUARD = _Guard("type-checking")
_VERSION_GUARD = _Guard("version")
_NO_GUARDS: tuple[tuple[_Guard, ...], tuple[_Guard, ...]] = ((), ())


class UnguardedPrivateApi(Rule):
    """
    ## What it does
    Flags uses of private torch names (a dotted component starting with `_`, such as
    `torch._foreach_norm`, `torch._dynamo.disable` or `from torch._C import _foo`), resolved
    through imports and aliases, that nothing guards.

    A use is guarded when it sits in the body of a `try` whose handlers catch
    `AttributeError`, `ImportError`, `NotImplementedError`, `Exception` (or bare `except`);
    under `if hasattr(owner, "_name")` (or a name bound from such a test, or
    `"_name" in dir(owner)`, or after `if not hasattr(...): return`); when it is reached
    through `getattr(owner, "_name", default)`; or on the old-version branch of a torch version
    gate, including the handler of `except ImportError` / `AttributeError` that falls back
    to the old private name; or in an `if TYPE_CHECKING:` block, which never runs. A guard
    must name the same owner and attribute; the owner it probes (`torch._C` in
    `hasattr(torch._C, "_x")`) is part of the guard and not reported.

    Never flagged: torch's own source, operator handles `torch.ops.<ns>._name`, and
    `torch.testing._internal` in test files.

    ## Why is this bad
    Private names carry no compatibility promise: a torch upgrade can rename or remove them,
    and code without a fallback then fails at run time, often far from the upgrade.

    ## Example
    ```python
    import torch

    norms = torch._foreach_norm(grads, 2)
    ```

    ## Use instead
    ```python
    import gradlint_runtime

    norms = gradlint_runtime.foreach_norm(grads, 2)
    ```

    ## Fix safety
    Safe where the public replacement is the same function (`torch._dynamo.disable` ->
    `torch.compiler.disable`, `torch._dynamo.is_compiling` -> `torch.compiler.is_compiling`) or
    a runtime helper with identical results (`torch._foreach_norm` ->
    `gradlint_runtime.foreach_norm`). The user's import alias is kept. Other names are
    reported with the public replacement in the message, but not rewritten.

    ## Options
    - `allowed-private-apis`: glob patterns of private names that are allowed
      (e.g. `["torch._dynamo.*"]`); a pattern also allows everything below the name it matches.
    - `runtime-module`: the module fixes import runtime helpers from (default `gradlint_runtime`).
    """

    code = "GL002"
    name = "unguarded-private-api"
    summary = "Private torch API used without a guard or fallback"
    OPTIONS = (
        Option(
            "allowed-private-apis",
            default=[],
            doc="Glob patterns of private torch names that are allowed.",
            kind=list,
            item_kind=str,
        ),
        RUNTIME_MODULE_OPTION,
    )
    # Text a finding needs: ``torch...._x``, an import of a private name from torch, a
    # getattr of a private name, or ``alias._x`` for a name imported from torch.
    _DIRECT = re.compile(
        r"\btorch(?:\.\w+)*\._[A-Za-z0-9]"
        r"|\bfrom\s+torch[\w.]*\s+import\s*\(?[^)\n]*(?:\n[^)]*)?\b_[A-Za-z0-9]"
        r"|\bgetattr\(\s*[\w.]+\s*,\s*['\"]_[A-Za-z0-9]"
    )
    _ALIAS = re.compile(
        r"\bimport\s+torch[\w.]*\s+as\s+(\w+)"
        r"|\bfrom\s+torch[\w.]*\s+import\s+([\w\s,()]+)"
    )

    @classmethod
    def may_match(cls, text: str) -> bool:
        if "torch" not in text:
            return False
        if cls._DIRECT.search(text):
            return True
        names: set[str] = set()
        for match in cls._ALIAS.finditer(text):
            if match.group(1):
                names.add(match.group(1))
            else:
                names.update(re.findall(r"\w+", match.group(2)))
        names -= {"import", "as"}
        if not names:
            return False
        alias_use = re.compile(
            r"\b(?:%s)(?:\.\w+)*\._[A-Za-z0-9]" % "|".join(map(re.escape, sorted(names)))
        )
        return alias_use.search(text) is not None

    VALID = (
        Valid("import torch\nnorms = torch.linalg.vector_norm(x)\n"),
        Valid(
            "import torch\n"
            "try:\n"
            "    norms = torch._foreach_norm(grads, 2)\n"
            "except (AttributeError, RuntimeError):\n"
            "    norms = [g.norm() for g in grads]\n"
        ),
        Valid(
            "import torch\n"
            "try:\n"
            "    from torch._dynamo import disable\n"
            "except ImportError:\n"
            "    disable = lambda f: f\n"
        ),
        Valid(
            "import torch as T\n"
            'if hasattr(T, "_foreach_norm"):\n'
            "    norms = T._foreach_norm(grads)\n"
        ),
        Valid(
            "import torch\n"
            'HAS_FOREACH = hasattr(torch, "_foreach_norm")\n'
            "def f(grads):\n"
            "    if HAS_FOREACH:\n"
            "        return torch._foreach_norm(grads)\n"
            "    return [g.norm() for g in grads]\n"
        ),
        Valid(
            "import torch\n"
            "def f(grads):\n"
            '    if not hasattr(torch, "_foreach_norm"):\n'
            "        return [g.norm() for g in grads]\n"
            "    return torch._foreach_norm(grads)\n"
        ),
        Valid('import torch\nif "_foreach_norm" in dir(torch):\n    n = torch._foreach_norm(g)\n'),
        Valid('import torch\nfn = getattr(torch, "_foreach_norm", None)\n'),
        Valid(
            "import torch\n"
            "n = torch._foreach_norm(g) if hasattr(torch, '_foreach_norm') else None\n"
        ),
        Valid(
            "import torch\n"
            "if TORCH_VERSION < (2, 0):\n"
            "    from torch.distributed import _all_gather_base as all_gather\n"
            "else:\n"
            "    from torch.distributed import all_gather_into_tensor as all_gather\n"
        ),
        Valid(
            "import torch\n"
            "if _TORCH_GREATER_EQUAL_2_1:\n"
            "    from torch.optim.lr_scheduler import LRScheduler\n"
            "else:\n"
            "    from torch.optim.lr_scheduler import _LRScheduler as LRScheduler\n"
        ),
        Valid("def f(torch):\n    return torch._private_thing()\n"),
        Valid("import torch\ndef f(x):\n    torch = x\n    return torch._foo()\n"),
        Valid("import torch\nop = torch.ops.aten._foreach_add.Scalar\n"),
        Valid("import torch\nv = torch.__version__\n"),
        Valid("import numpy as np\nnp._private()\n"),
        Valid(
            "from torch.testing._internal.common_utils import run_tests\n",
            path="tests/test_norms.py",
        ),
        Valid(
            "import torch\nx = torch._dynamo.disable\n",
            options={"allowed-private-apis": ["torch._dynamo.*"]},
        ),
        Valid("import torch\nx = torch._C._foo()\n", path="torch/nn/utils/clip_grad.py"),
        Valid("import torch._dynamo\n"),
        # The public name first, the private one only where the public one is missing.
        Valid(
            "try:\n"
            "    from torch.distributed import all_gather_into_tensor\n"
            "except ImportError:\n"
            "    from torch.distributed import _all_gather_base as all_gather_into_tensor\n"
        ),
        Valid(
            "import torch.distributed as dist\n"
            "def gather(out, x):\n"
            "    try:\n"
            "        dist.all_gather_into_tensor(out, x)\n"
            "    except AttributeError:\n"
            "        dist._all_gather_base(out, x)\n"
        ),
        # Found on Lightning: the probed owner is part of the guard.
        Valid(
            "import torch\n"
            'if hasattr(torch._C, "_cuda_clearCublasWorkspaces"):\n'
            "    torch._C._cuda_clearCublasWorkspaces()\n"
        ),
        Valid('import torch\nHAS = "_get_tracing_state" in dir(torch._C)\n'),
        # Found on Lightning: imports for annotations only never run.
        Valid(
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n"
            "    from torch.optim.lr_scheduler import _LRScheduler\n"
        ),
        Valid(
            "import typing\n"
            "import torch\n"
            "if typing.TYPE_CHECKING:\n"
            "    Reducer = torch._C._distributed_c10d.Reducer\n"
        ),
    )
    INVALID = (
        Invalid(
            "import torch\nnorms = torch._foreach_norm(grads, 2)\n",
            line=2,
            column=9,
            message="Private torch API `torch._foreach_norm`",
            expected_fix=(
                "import torch\nimport gradlint_runtime\n\n"
                "norms = gradlint_runtime.foreach_norm(grads, 2)\n"
            ),
        ),
        Invalid(
            "import torch as T\nn = T._foreach_norm(grads)\n",
            line=2,
            column=5,
            expected_fix="import torch as T\nimport gradlint_runtime\n\nn = gradlint_runtime.foreach_norm(grads)\n",
        ),
        Invalid(
            "from torch import _foreach_norm\nn = _foreach_norm(grads)\n",
            line=1,
            column=19,
            expected_fix="from gradlint_runtime import foreach_norm as _foreach_norm\nn = _foreach_norm(grads)\n",
        ),
        Invalid(
            "import torch\n\n@torch._dynamo.disable\ndef step(x):\n    return x\n",
            line=3,
            column=2,
            message="the public `torch.compiler.disable`",
            expected_fix="import torch\n\n@torch.compiler.disable\ndef step(x):\n    return x\n",
        ),
        Invalid(
            "import torch as T\nif T._dynamo.is_compiling():\n    pass\n",
            expected_fix="import torch as T\nif T.compiler.is_compiling():\n    pass\n",
        ),
        Invalid(
            "from torch._dynamo import disable\n",
            line=1,
            column=27,
            expected_fix="from torch.compiler import disable\n",
        ),
        Invalid("import torch._dynamo as dyn\ndyn.mark_dynamic(x, 0)\n", line=1, column=8, expected_fix=NO_FIX),
        Invalid(
            "import torch.distributed as dist\ndist._all_gather_base(out, inp)\n",
            message="`torch.distributed.all_gather_into_tensor`",
            expected_fix=NO_FIX,
        ),
        Invalid(
            "import torch\n"
            "try:\n"
            "    norms = torch._foreach_norm(grads, 2)\n"
            "except ValueError:\n"
            "    norms = None\n",
            line=3,
        ),
        Invalid(
            "import torch\n"
            'if hasattr(torch, "_foreach_mul_"):\n'
            "    norms = torch._foreach_norm(grads)\n",
            line=3,
        ),
        Invalid(
            "import torch\n"
            "try:\n"
            "    def f(g):\n"
            "        return torch._foreach_norm(g)\n"
            "except AttributeError:\n"
            "    f = None\n",
            line=4,
        ),
        Invalid(
            "import torch\n"
            "if _TORCH_GREATER_EQUAL_2_1:\n"
            "    x = torch._C._foo()\n",
            line=3,
        ),
        Invalid('import torch\nfn = getattr(torch, "_foreach_norm")\n', line=2, column=6),
        # A handler for an unrelated error is no fallback for a missing name.
        Invalid(
            "import torch\n"
            "try:\n"
            "    n = compute()\n"
            "except (ValueError, Exception):\n"
            "    n = torch._foreach_norm(g)\n",
            line=5,
        ),
        # One finding for the whole name, not a second one for the owner.
        Invalid(
            'import torch\nfn = getattr(torch._C, "_get_tracing_state")\n',
            line=2,
            column=6,
            message="`torch._C._get_tracing_state`",
        ),
        Invalid(
            "from typing import TYPE_CHECKING\n"
            "if not TYPE_CHECKING:\n"
            "    from torch.optim.lr_scheduler import _LRScheduler\n",
            line=3,
        ),
        Invalid("import torch\nx = torch._C._get_tracing_state()\n", message="torch.jit.is_tracing"),
        Invalid("from torch.optim.lr_scheduler import _LRScheduler\n"),
        Invalid(
            "import torch.distributed as dist\nleft = len(dist.distributed_c10d._pg_map)\n",
            line=2,
            message="`torch.distributed.distributed_c10d._pg_map`",
        ),
        Invalid(
            "from torch.testing._internal.common_utils import run_tests\n",
            path="src/helpers.py",
        ),
        Invalid(
            "import torch\nx = torch._dynamo.disable\ny = torch._C._foo\n",
            options={"allowed-private-apis": ["torch._dynamo.*"]},
            line=3,
        ),
    )

    def __init__(self, options=None) -> None:  # type: ignore[no-untyped-def]
        super().__init__(options)
        self._allowed: tuple[str, ...] = tuple(self.options["allowed-private-apis"])

    # -- per-file state ------------------------------------------------------------------

    def prescreen(self, screen: AstScreen) -> bool:
        """A private torch name is imported, reached through an import, or fetched by getattr."""
        lines = _candidate_lines(screen)
        screen.memo[self.code] = lines
        return bool(lines)

    def regions(self, screen: AstScreen) -> set[int] | None:
        """Definitions with a candidate, and all other module-level code (module-level
        guards such as ``HAS_X = hasattr(...)`` or ``if not hasattr(...): raise`` live there)."""
        lines: list[int] = screen.memo[self.code]  # type: ignore[assignment]
        keep = statements_holding(screen, lines)
        keep.update(
            index
            for index, statement in enumerate(screen.tree.body)
            if not isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        )
        return keep

    def wants_file(self, info: FileInfo) -> bool:
        return info.package not in _TORCH_OWN_PACKAGES

    def begin_file(self, ctx: FileContext) -> None:
        super().begin_file(ctx)
        self._inner: set[int] = set()
        self._in_import = 0
        # Lexical guards (try bodies, if branches, conditional operands) and, per function
        # body, the index below which ``try`` guards stop applying (the body runs later).
        self._guards: list[_Guard] = []
        self._pushed: list[int] = []
        self._barriers: list[int] = [0]
        # Guards established for the rest of a block (``if not hasattr(...): return``).
        self._block_guards: list[list[_Guard]] = [[]]
        self._guard_names: dict[str, tuple[tuple[_Guard, ...], tuple[_Guard, ...]]] = {}

    # -- guards --------------------------------------------------------------------------

    def _push(self, guards: tuple[_Guard, ...]) -> None:
        self._guards.extend(guards)
        self._pushed.append(len(guards))

    def _pop(self, node: cst.CSTNode | None = None) -> None:
        count = self._pushed.pop()
        if count:
            del self._guards[-count:]

    def _is_guarded(self, qualified: str) -> bool:
        barrier = self._barriers[-1]
        for index, guard in enumerate(self._guards):
            if guard.kind == "try" and index < barrier:
                continue
            if guard.covers(qualified):
                return True
        return any(guard.covers(qualified) for block in self._block_guards for guard in block)

    def _owner(self, node: cst.BaseExpression) -> str | None:
        dotted = dotted_name(node)
        if dotted is None:
            return None
        assert self.ctx is not None
        qualified = self.ctx.resolve(dotted)
        if qualified is None or not (qualified == "torch" or qualified.startswith("torch.")):
            return None
        return qualified

    def _attr_test(self, owner: cst.BaseExpression, attr: cst.BaseExpression) -> _Guard | None:
        if not isinstance(attr, cst.SimpleString):
            return None
        qualified = self._owner(owner)
        if qualified is None:
            return None
        return _Guard("attr", f"{qualified}.{attr.evaluated_value}")

    def _guards_of(
        self, test: cst.BaseExpression
    ) -> tuple[tuple[_Guard, ...], tuple[_Guard, ...]]:
        """Guards that hold where ``test`` is true, and where it is false."""
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            positive, negative = self._guards_of(test.expression)
            return negative, positive
        if isinstance(test, cst.BooleanOperation):
            left, right = self._guards_of(test.left), self._guards_of(test.right)
            if isinstance(test.operator, cst.And):
                return left[0] + right[0], ()
            return (), left[1] + right[1]
        if isinstance(test, cst.Name) and test.value in self._guard_names:
            return self._guard_names[test.value]
        if isinstance(test, cst.Call):
            guard = self._call_guard(test)
            if guard is not None:
                return (guard,), ()
        if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
            guard = self._comparison_guard(test)
            if guard is not None:
                return guard
        if isinstance(test, (cst.Name, cst.Attribute)) and (
            (dotted_name(test) or "").rpartition(".")[2] == "TYPE_CHECKING"
        ):
            return (_TYPE_CHECKING_GUARD,), ()
        gate = _version_gate(test)
        if gate == "body_old":
            return (_VERSION_GUARD,), ()
        if gate == "orelse_old":
            return (), (_VERSION_GUARD,)
        return _NO_GUARDS

    def _call_guard(self, call: cst.Call) -> _Guard | None:
        func = call.func
        if not isinstance(func, cst.Name):
            return None
        if func.value == "hasattr" and len(call.args) == 2:
            return self._attr_test(call.args[0].value, call.args[1].value)
        if func.value == "callable" and len(call.args) == 1 and isinstance(call.args[0].value, cst.Call):
            return self._getattr_guard(call.args[0].value)
        return None

    def _getattr_guard(self, call: cst.Call) -> _Guard | None:
        if isinstance(call.func, cst.Name) and call.func.value == "getattr" and len(call.args) >= 2:
            return self._attr_test(call.args[0].value, call.args[1].value)
        return None

    def _comparison_guard(
        self, test: cst.Comparison
    ) -> tuple[tuple[_Guard, ...], tuple[_Guard, ...]] | None:
        target = test.comparisons[0]
        operator = target.operator
        # "_x" in dir(owner)
        right = target.comparator
        if (
            isinstance(operator, (cst.In, cst.NotIn))
            and isinstance(right, cst.Call)
            and isinstance(right.func, cst.Name)
            and right.func.value == "dir"
            and len(right.args) == 1
        ):
            guard = self._attr_test(right.args[0].value, test.left)
            if guard is None:
                return None
            return ((guard,), ()) if isinstance(operator, cst.In) else ((), (guard,))
        # getattr(owner, "_x", None) is not None
        if isinstance(operator, (cst.IsNot, cst.Is)) and isinstance(test.left, cst.Call):
            guard = self._getattr_guard(test.left)
            if guard is None:
                return None
            return ((guard,), ()) if isinstance(operator, cst.IsNot) else ((), (guard,))
        return None

    def _catches_api_errors(self, node: cst.Try | cst.TryStar) -> bool:
        return any(
            handler.type is None or _catches(handler, _GUARD_EXCEPTIONS) for handler in node.handlers
        )

    def visit_Try_body(self, node: cst.Try) -> None:
        self._push((_TRY_GUARD,) if self._catches_api_errors(node) else ())

    leave_Try_body = _pop

    def visit_TryStar_body(self, node: cst.TryStar) -> None:
        self._push((_TRY_GUARD,) if self._catches_api_errors(node) else ())

    leave_TryStar_body = _pop

    def visit_ExceptHandler_body(self, node: cst.ExceptHandler) -> None:
        # ``except ImportError: from torch.x import _old as new`` is the old-torch fallback.
        self._push((_VERSION_GUARD,) if _catches(node, _MISSING_NAME_EXCEPTIONS) else ())

    leave_ExceptHandler_body = _pop

    def visit_ExceptStarHandler_body(self, node: cst.ExceptStarHandler) -> None:
        self._push((_VERSION_GUARD,) if _catches(node, _MISSING_NAME_EXCEPTIONS) else ())

    leave_ExceptStarHandler_body = _pop

    def visit_If_body(self, node: cst.If) -> None:
        self._push(self._guards_of(node.test)[0])

    leave_If_body = _pop

    def visit_If_orelse(self, node: cst.If) -> None:
        self._push(self._guards_of(node.test)[1])

    leave_If_orelse = _pop

    def leave_If(self, node: cst.If) -> None:
        # ``if not hasattr(torch, "_x"): return fallback`` guards the rest of the block.
        if node.orelse is None and _ends_in_exit(node.body):
            negative = self._guards_of(node.test)[1]
            self._block_guards[-1].extend(negative)

    def visit_Assert(self, node: cst.Assert) -> None:
        self._block_guards[-1].extend(self._guards_of(node.test)[0])

    def visit_IfExp_body(self, node: cst.IfExp) -> None:
        self._push(self._guards_of(node.test)[0])

    leave_IfExp_body = _pop

    def visit_IfExp_orelse(self, node: cst.IfExp) -> None:
        self._push(self._guards_of(node.test)[1])

    leave_IfExp_orelse = _pop

    def visit_BooleanOperation_right(self, node: cst.BooleanOperation) -> None:
        positive, negative = self._guards_of(node.left)
        self._push(positive if isinstance(node.operator, cst.And) else negative)

    leave_BooleanOperation_right = _pop

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self._block_guards.append([])

    def leave_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self._block_guards.pop()

    def visit_FunctionDef_body(self, node: cst.FunctionDef) -> None:
        self._barriers.append(len(self._guards))

    def leave_FunctionDef_body(self, node: cst.FunctionDef) -> None:
        self._barriers.pop()

    def visit_Lambda_body(self, node: cst.Lambda) -> None:
        self._barriers.append(len(self._guards))

    def leave_Lambda_body(self, node: cst.Lambda) -> None:
        self._barriers.pop()

    def visit_Assign(self, node: cst.Assign) -> None:
        if len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            guards = self._guards_of(node.value)
            if guards != _NO_GUARDS:
                self._guard_names[node.targets[0].target.value] = guards

    # -- uses ----------------------------------------------------------------------------

    def visit_Import(self, node: cst.Import) -> None:
        self._in_import += 1
        for alias in node.names:
            full = dotted_name(alias.name)
            # ``import torch._dynamo`` binds ``torch``: the uses carry the findings.
            if alias.asname is not None and full is not None and full.startswith("torch."):
                self._check(alias, full, fix=None)

    def leave_Import(self, node: cst.Import) -> None:
        self._in_import -= 1

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        self._in_import += 1
        if node.relative or node.module is None:
            return
        module = dotted_name(node.module)
        if module is None or not (module == "torch" or module.startswith("torch.")):
            return
        if isinstance(node.names, cst.ImportStar):
            self._check(node.module, module, fix=None)
            return
        fix = self._import_from_fix(node, module)
        for alias in node.names:
            name = dotted_name(alias.name)
            if name is not None:
                self._check(alias, f"{module}.{name}", fix=fix)

    def leave_ImportFrom(self, node: cst.ImportFrom) -> None:
        self._in_import -= 1

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if self._in_import or id(node) in self._inner:
            return
        chain = attribute_chain(node)
        if chain is None:
            return
        for inner in chain[1:-1]:
            self._inner.add(id(inner))
        assert self.ctx is not None
        root = chain[0].value  # type: ignore[union-attr]
        binding = self.ctx.imports.bindings.get(root)
        if binding is None or _has_private_part(binding):
            # Not an import, or a private import already reported where it is imported.
            return
        dotted = ".".join([root, *(part.attr.value for part in chain[1:])])  # type: ignore[union-attr]
        qualified = self.ctx.imports.resolve(dotted)
        if qualified is None or not qualified.startswith("torch.") or not _has_private_part(qualified):
            return
        # Only now (rarely) ask whether a local variable shadows the imported name.
        if self.ctx.is_shadowed(root):
            return
        self._check(node, qualified, fix=self._attribute_fix(chain, binding, qualified))

    def visit_Call(self, node: cst.Call) -> None:
        # In ``hasattr(torch._C, "_x")`` the owner is probed, not used: the probe is the guard.
        if isinstance(node.func, cst.Name) and node.func.value in _PROBES and node.args:
            owner = attribute_chain(node.args[0].value)
            if owner is not None:
                self._inner.update(id(part) for part in owner)
        # getattr(torch, "_x") without a default raises just like torch._x.
        if (
            isinstance(node.func, cst.Name)
            and node.func.value == "getattr"
            and len(node.args) == 2
            and isinstance(node.args[1].value, cst.SimpleString)
        ):
            owner = self._owner(node.args[0].value)
            attr = node.args[1].value.evaluated_value
            if owner is not None and isinstance(attr, str):
                self._check(node, f"{owner}.{attr}", fix=None)

    def _check(self, node: cst.CSTNode, qualified: str, *, fix: Fix | None) -> None:
        if not _has_private_part(qualified) or qualified.startswith("torch.ops."):
            return
        assert self.ctx is not None
        if self.ctx.is_test_file and qualified.startswith("torch.testing._internal"):
            return
        if self._is_allowed(qualified) or self._is_guarded(qualified):
            return
        self.report(node, self._message(qualified), fix=fix)

    def _is_allowed(self, qualified: str) -> bool:
        if not self._allowed:
            return False
        parts = qualified.split(".")
        prefixes = [".".join(parts[: index + 1]) for index in range(len(parts))]
        return any(
            fnmatch.fnmatchcase(prefix, pattern) for pattern in self._allowed for prefix in prefixes
        )

    def _message(self, qualified: str) -> str:
        found = public_equivalent(qualified)
        text = f"Private torch API `{qualified}` is used without a guard or fallback"
        if found is None:
            return text + " (wrap it in try/except AttributeError or check hasattr first)"
        prefix, equivalent = found
        if not equivalent.name:
            return f"{text} ({equivalent.note})"
        public = equivalent.name.replace(RUNTIME, self.runtime_module)
        if prefix == qualified:
            return f"{text}; the public `{public}` does the same"
        if equivalent.same_members:
            return f"{text}; use the public `{public}{qualified[len(prefix):]}`"
        return f"{text}; see the public `{public}` for a replacement"

    # -- fixes ---------------------------------------------------------------------------

    def _fixable_target(self, qualified: str) -> tuple[str, str] | None:
        """(private prefix, public name) when ``qualified`` starts with a fixable entry."""
        found = public_equivalent(qualified)
        if found is None or not found[1].fix:
            return None
        prefix, equivalent = found
        return prefix, equivalent.name.replace(RUNTIME, self.runtime_module)

    def _attribute_fix(
        self, chain: list[cst.Attribute | cst.Name], binding: str, qualified: str
    ) -> Fix | None:
        target = self._fixable_target(qualified)
        if target is None:
            return None
        prefix, public = target
        # The chain node that spells exactly ``prefix``.
        index = len(prefix.split(".")) - len(binding.split("."))
        if index < 1 or index >= len(chain):
            return None
        replaced = chain[index]
        root = chain[0].value  # type: ignore[union-attr]
        imports: tuple[ImportSpec, ...] = ()
        if public.startswith(binding + "."):
            text = root + public[len(binding):]
        elif public.startswith("torch.") and binding == "torch":
            text = root + public[len("torch"):]
        else:
            text = public
            imports = (ImportSpec(public.rpartition(".")[0]),)
        return Fix(
            "safe",
            f"Replace with `{public}`",
            ((replaced, cst.parse_expression(text)),),
            imports,
        )

    def _import_from_fix(self, node: cst.ImportFrom, module: str) -> Fix | None:
        """Rewrite ``from torch._x import a`` when every name has one public home."""
        assert not isinstance(node.names, cst.ImportStar)
        new_module: str | None = None
        aliases: list[cst.ImportAlias] = []
        for alias in node.names:
            name = dotted_name(alias.name)
            target = None if name is None else self._fixable_target(f"{module}.{name}")
            if target is None or target[0] != f"{module}.{name}":
                return None
            home, _, public_name = target[1].rpartition(".")
            if new_module not in (None, home):
                return None
            new_module = home
            local = alias.asname.name.value if alias.asname is not None else name  # type: ignore[union-attr]
            asname = None if local == public_name else cst.AsName(name=cst.Name(local))  # type: ignore[arg-type]
            aliases.append(alias.with_changes(name=cst.Name(public_name), asname=asname))
        if new_module is None:
            return None
        replacement = node.with_changes(
            module=cst.parse_expression(new_module), names=aliases
        )
        return Fix("safe", f"Import from `{new_module}`", ((node, replacement),))


def _catches(handler: cst.ExceptHandler | cst.ExceptStarHandler, names: frozenset[str]) -> bool:
    """Whether the handler names one of ``names`` (``except (A, B)`` and ``mod.A`` included)."""
    if handler.type is None:
        return False
    kinds = (
        [element.value for element in handler.type.elements]
        if isinstance(handler.type, cst.Tuple)
        else [handler.type]
    )
    for kind in kinds:
        name = dotted_name(kind)
        if name is not None and name.rpartition(".")[2] in names:
            return True
    return False


def _ends_in_exit(body: cst.BaseSuite) -> bool:
    if isinstance(body, cst.IndentedBlock):
        if not body.body:
            return False
        last = body.body[-1]
    else:
        last = body  # type: ignore[assignment]
    if isinstance(last, (cst.SimpleStatementLine, cst.SimpleStatementSuite)) and last.body:
        return isinstance(last.body[-1], _EXIT_STATEMENTS)
    return False


def _version_words(name: str) -> str | None:
    """'new' or 'old' for names like ``_TORCH_GREATER_EQUAL_2_1`` or ``is_torch_less_than``."""
    words = set(re.split(r"[_.]+", name.upper()))
    if not words & {"TORCH", "VERSION", "PT", "PYTORCH"}:
        return None
    if words & _OLDER_WORDS:
        return "old"
    if words & _NEWER_WORDS or ("AT" in words and "LEAST" in words):
        return "new"
    return None


def _mentions_version(node: cst.BaseExpression) -> bool:
    if isinstance(node, (cst.Name, cst.Attribute)):
        dotted = dotted_name(node) or ""
        return "version" in dotted.lower() and "version_info" not in dotted.lower()
    if isinstance(node, cst.Call):
        return _mentions_version(node.func) or any(_mentions_version(arg.value) for arg in node.args)
    if isinstance(node, cst.Subscript):
        return _mentions_version(node.value)
    return False


def _version_gate(test: cst.BaseExpression) -> str | None:
    """Which branch of ``if test`` runs on older torch: 'body_old', 'orelse_old' or None."""
    if isinstance(test, (cst.Name, cst.Attribute)):
        direction = _version_words(dotted_name(test) or "")
    elif isinstance(test, cst.Call):
        direction = _version_words(dotted_name(test.func) or "")
    elif isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        operator = test.comparisons[0].operator
        comparator = test.comparisons[0].comparator
        if isinstance(operator, (cst.LessThan, cst.LessThanEqual)):
            smaller_is_left = True
        elif isinstance(operator, (cst.GreaterThan, cst.GreaterThanEqual)):
            smaller_is_left = False
        else:
            return None
        if _mentions_version(test.left):
            direction = "old" if smaller_is_left else "new"
        elif _mentions_version(comparator):
            direction = "new" if smaller_is_left else "old"
        else:
            return None
    else:
        return None
    if direction == "old":
        return "body_old"
    if direction == "new":
        return "orelse_old"
    return None


def _candidate_lines(screen: AstScreen) -> list[int]:
    """Lines with a private torch import, attribute (through any import alias) or getattr."""
    lines: list[int] = []
    for node in screen.nodes(ast.Import, ast.ImportFrom):
        if isinstance(node, ast.Import):
            if any(
                alias.asname and alias.name.startswith("torch.") and _has_private_part(alias.name)
                for alias in node.names
            ):
                lines.append(node.lineno)
        elif not node.level and node.module and node.module.split(".", 1)[0] == "torch":
            if _has_private_part(node.module) or any(_is_private(alias.name) for alias in node.names):
                lines.append(node.lineno)
    for node in screen.nodes(ast.Attribute):
        if _is_private(node.attr):
            qualified = screen.resolve(node)
            if (
                qualified is not None
                and qualified.startswith("torch.")
                and not qualified.startswith("torch.ops.")
                and _has_private_part(qualified)
            ):
                lines.append(node.lineno)
    for node in screen.nodes(ast.Call):
        if (
            isinstance(node.func, ast.Name)
            and node.func.id == "getattr"
            and len(node.args) == 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
            and _is_private(node.args[1].value)
        ):
            owner = screen.resolve(node.args[0])
            if owner is not None and owner.split(".", 1)[0] == "torch":
                lines.append(node.lineno)
    return lines
