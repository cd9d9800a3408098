"""GL002 unguarded-private-api."""

from __future__ import annotations

import ast
import fnmatch
import re

from gradlint.fileinfo import FileInfo
from gradlint.options import RUNTIME_AVAILABLE_OPTION, RUNTIME_MODULE_OPTION
from gradlint.rule import NO_FIX, Fix, ImportSpec, Invalid, NodeEdit, Option, Rule, Valid
from gradlint.rules._private_api_table import DOCUMENTED, RUNTIME, public_equivalent
from gradlint.rules._triggers import GAP, PRIVATE, chain_words_before, has_private_word, import_clause, literal_first

# Calls whose first argument is only probed for an attribute: that owner is part of the guard.
_PROBES = frozenset({"hasattr", "getattr", "dir"})
# Packages shipped in the torch distribution: their use of torch internals is not ours to judge.
_TORCH_OWN_PACKAGES = frozenset({"torch", "torchgen", "functorch"})


def _is_private(segment: str) -> bool:
    return segment.startswith("_") and not (segment.startswith("__") and segment.endswith("__"))


def _has_private_part(qualified: str) -> bool:
    return any(_is_private(part) for part in qualified.split("."))


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
    gate: a comparison with `torch.__version__`, a flag computed once from one
    (`WITH_PT23 = parse(torch.__version__) >= parse("2.3")`) or named after a version
    (`if not TORCH_2_1:`), a helper such as `is_torch_version("<", "2.2")`, a function
    decorated for a bounded version range (`@implement_for("torch", None, "2.3")`), the
    branch where a *public* name is missing (`else:` of `hasattr(torch, "compiler")`,
    `"compiler" not in dir(torch)`), and the handler of `except ImportError` /
    `AttributeError` that falls back to the old private name; or in an `if TYPE_CHECKING:`
    block, which never runs. A guard must name the same owner and attribute; the owner it
    probes (`torch._C` in `hasattr(torch._C, "_x")`) is part of the guard and not reported.
    The new-version branch of a gate guards nothing.

    Never flagged: torch's own source, operator handles `torch.ops.<ns>._name`,
    `torch.testing._internal` in test files, and underscore names that torch's API reference
    documents as public (`torch._assert`, `torch._logging.set_logs`) unless
    `documented-private-is-public` is off.

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
    - `documented-private-is-public` (default true): names torch documents, though spelled with
      an underscore, are public API and not reported.
    - `runtime-module`: the module fixes import runtime helpers from (default `gradlint_runtime`).
      Runtime-targeted fixes are offered only where the project can import the runtime
      (`runtime-available`); otherwise `torch._foreach_norm(xs, p)` is rewritten to keep it
      where it exists and fall back to `torch.linalg.vector_norm` per tensor where it does not.
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
        Option(
            "documented-private-is-public",
            default=True,
            doc="Treat underscore names that torch's API reference documents (torch._assert) as public.",
            kind=bool,
        ),
        RUNTIME_MODULE_OPTION,
        RUNTIME_AVAILABLE_OPTION,
    )
    # Text a finding needs: ``torch...._x``, an import of a private name from torch, a
    # getattr of a private name, or ``alias._x`` for a name imported from torch. The parts of a
    # dotted name may be apart by anything Python allows there (``GAP``). Each pattern starts
    # with its literal (see ``_triggers``).
    _TORCH_CHAIN = rf"torch(?!\w)(?:{GAP}\.{GAP}\w+)*"
    _DIRECT = (
        literal_first("torch", rf"(?:{GAP}\.{GAP}\w+)*{GAP}\.{GAP}{PRIVATE}"),
        literal_first("getattr", rf"{GAP}\({GAP}[^,]*+,{GAP}(?:[rRuU]{{0,2}}['\"]{GAP})+(?:[\w.]*\.)?{PRIVATE}"),
    )
    _FROM_TORCH = literal_first("from", rf"{GAP}{_TORCH_CHAIN}{GAP}import(?!\w)")
    _IMPORT = literal_first("import", "")
    _AS_ALIAS = re.compile(rf"(?<!\w){_TORCH_CHAIN}{GAP}as(?!\w){GAP}(\w+)")
    _PRIVATE_DOT = re.compile(rf"\.{GAP}{PRIVATE}")
    _WORDS = re.compile(r"\w+")

    @classmethod
    def may_match(cls, text: str) -> bool:
        if "torch" not in text:
            return False
        if any(pattern.search(text) for pattern in cls._DIRECT):
            return True
        names: set[str] = set()
        for match in cls._FROM_TORCH.finditer(text):
            clause = import_clause(text, match.end())
            if has_private_word(clause):
                return True
            names.update(cls._WORDS.findall(clause))
        for match in cls._IMPORT.finditer(text):
            clause = import_clause(text, match.end())
            if "torch" in clause:
                names.update(alias.group(1) for alias in cls._AS_ALIAS.finditer(clause))
        names -= {"import", "as"}
        if not names:
            return False
        # ``alias._x`` or ``alias.sub._x``: the name is one part of the chain before ``._``.
        return any(
            any(part in names for part in chain_words_before(text, match.start()))
            for match in cls._PRIVATE_DOT.finditer(text)
        )

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
        # A project that does not depend on the runtime keeps torch's op where it exists.
        Invalid(
            "import torch\nnorms = torch._foreach_norm(grads, 2)\n",
            options={"runtime-available": False},
            expected_fix=(
                "import torch\nnorms = torch._foreach_norm(grads, 2) if hasattr(torch, \"_foreach_norm\") "
                "else [torch.linalg.vector_norm(t, 2) for t in grads]\n"
            ),
        ),
        Invalid(
            "import torch\nnorms = torch._foreach_norm(grads, 2)\n",
            line=2,
            column=9,
            message="Private torch API `torch._foreach_norm`",
            expected_fix=(
                "import gradlint_runtime\nimport torch\n\n"
                "norms = gradlint_runtime.foreach_norm(grads, 2)\n"
            ),
        ),
        Invalid(
            "import torch as T\nn = T._foreach_norm(grads)\n",
            line=2,
            column=5,
            expected_fix="import gradlint_runtime\nimport torch as T\n\nn = gradlint_runtime.foreach_norm(grads)\n",
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
            message="use `torch.compiler.disable`",
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
        self._documented_public = bool(self.options["documented-private-is-public"])

    def wants_file(self, info: FileInfo) -> bool:
        return info.package not in _TORCH_OWN_PACKAGES

    def begin_file(self, model, info) -> None:  # type: ignore[no-untyped-def]
        super().begin_file(model, info)
        # Inner links of an attribute chain already judged as a whole, and probed owners.
        self._inner: set[int] = set()

    # -- uses ----------------------------------------------------------------------------

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            # ``import torch._dynamo`` binds ``torch``: the uses carry the findings.
            if alias.asname is not None and alias.name.startswith("torch."):
                self._check(alias, alias.name, fix=None)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module
        if node.level or module is None or not (module == "torch" or module.startswith("torch.")):
            return
        if any(alias.name == "*" for alias in node.names):
            self._check(node, module, fix=None)
            return
        fix = self._import_from_fix(node, module)
        for alias in node.names:
            self._check(alias, f"{module}.{alias.name}", fix=fix)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if id(node) in self._inner:
            return
        chain = _chain(node)
        if chain is None:
            return
        for inner in chain[1:-1]:
            self._inner.add(id(inner))
        if not any(_is_private(link.attr) for link in chain[1:]):  # type: ignore[union-attr]
            return
        root = chain[0]
        assert isinstance(root, ast.Name)
        binding = self.model.binding_of(root)
        if binding is None or binding.qualified is None or _has_private_part(binding.qualified):
            # Not an import, or a private import already reported where it is imported.
            return
        qualified = self.model.qualified_name(node)
        if qualified is None or not qualified.startswith("torch.") or not _has_private_part(qualified):
            return
        self._check(node, qualified, fix=self._attribute_fix(chain, binding.qualified, qualified))

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if not isinstance(func, ast.Name) or not node.args:
            return
        # In ``hasattr(torch._C, "_x")`` the owner is probed, not used: the probe is the guard.
        if func.id in _PROBES:
            owner = _chain(node.args[0])
            if owner is not None:
                self._inner.update(id(part) for part in owner)
        # getattr(torch, "_x") without a default raises just like torch._x.
        if func.id == "getattr" and len(node.args) == 2 and not node.keywords:
            attr = node.args[1]
            if isinstance(attr, ast.Constant) and isinstance(attr.value, str):
                owner_name = self.model.qualified_name(node.args[0])
                if owner_name is not None and (owner_name == "torch" or owner_name.startswith("torch.")):
                    self._check(node, f"{owner_name}.{attr.value}", fix=None)

    def _check(self, node: ast.AST, qualified: str, *, fix: Fix | None) -> None:
        if not _has_private_part(qualified) or qualified.startswith("torch.ops."):
            return
        info = self.info
        if info is not None and info.is_test_file and qualified.startswith("torch.testing._internal"):
            return
        if self._documented_public and _is_documented(qualified):
            return
        if self._is_allowed(qualified) or self.model.is_guarded(qualified):
            return
        self.report(node, self._message(qualified), fix=fix)

    def _is_allowed(self, qualified: str) -> bool:
        if not self._allowed:
            return False
        parts = qualified.split(".")
        prefixes = [".".join(parts[: index + 1]) for index in range(len(parts))]
        return any(fnmatch.fnmatchcase(prefix, pattern) for pattern in self._allowed for prefix in prefixes)

    def _message(self, qualified: str) -> str:
        found = public_equivalent(qualified)
        text = f"Private torch API `{qualified}` without a guard"
        if found is None:
            return text
        prefix, equivalent = found
        if not equivalent.name:
            return f"{text} ({equivalent.note})"
        public = equivalent.name.replace(RUNTIME, self.runtime_module)
        if prefix == qualified:
            return f"{text}; use `{public}`"
        if equivalent.same_members:
            return f"{text}; use `{public}{qualified[len(prefix):]}`"
        return f"{text}; see `{public}`"

    # -- fixes ---------------------------------------------------------------------------

    def _fixable_target(self, qualified: str) -> tuple[str, str] | None:
        """(private prefix, public name) when ``qualified`` starts with a fixable entry."""
        found = public_equivalent(qualified)
        if found is None or not found[1].fix:
            return None
        prefix, equivalent = found
        if RUNTIME in equivalent.name and not self._runtime_available():
            return None
        return prefix, equivalent.name.replace(RUNTIME, self.runtime_module)

    def _runtime_available(self) -> bool:
        """Runtime-targeted fixes only where the project can import the runtime (issue 13)."""
        return bool(self.options.get("runtime-available", True))

    def _attribute_fix(self, chain: list[ast.expr], binding: str, qualified: str) -> Fix | None:
        target = self._fixable_target(qualified)
        if target is None:
            return self._inline_fallback_fix(chain, qualified)
        prefix, public = target
        # The chain node that spells exactly ``prefix``.
        index = len(prefix.split(".")) - len(binding.split("."))
        if index < 1 or index >= len(chain):
            return None
        root = chain[0].id  # type: ignore[attr-defined]
        imports: tuple[ImportSpec, ...] = ()
        if public.startswith(binding + "."):
            text = root + public[len(binding) :]
        elif public.startswith("torch.") and binding == "torch":
            text = root + public[len("torch") :]
        else:
            text = public
            imports = (ImportSpec(public.rpartition(".")[0]),)
        return Fix("safe", f"Replace with `{public}`", (NodeEdit(chain[index], _expression(text)),), imports)

    def _inline_fallback_fix(self, chain: list[ast.expr], qualified: str) -> Fix | None:
        """Without the runtime: ``torch._foreach_norm(xs, p)`` gets its public fallback inline."""
        if qualified != "torch._foreach_norm" or self._runtime_available():
            return None
        call = self.model.parent(chain[-1])
        if not (isinstance(call, ast.Call) and call.func is chain[-1]) or call.keywords or not 1 <= len(call.args) <= 2:
            return None
        if any(isinstance(arg, ast.Starred) for arg in call.args):
            return None
        owner = ".".join([chain[0].id, *(link.attr for link in chain[1:-1])])  # type: ignore[attr-defined]
        source = self.model.source_segment(call)
        tensors = self.model.source_segment(call.args[0])
        order = self.model.source_segment(call.args[1]) if len(call.args) == 2 else "2"
        if source is None or tensors is None or order is None or "\n" in source:
            return None
        text = (
            f'{source} if hasattr({owner}, "_foreach_norm") '
            f"else [{owner}.linalg.vector_norm(t, {order}) for t in {tensors}]"
        )
        if _needs_parentheses(call, self.model.parent(call)):
            text = f"({text})"
        return Fix("safe", "Fall back to `torch.linalg.vector_norm` where it is missing", (NodeEdit(call, _expression(text)),))

    def _import_from_fix(self, node: ast.ImportFrom, module: str) -> Fix | None:
        """Rewrite ``from torch._x import a`` when every name has one public home."""
        new_module: str | None = None
        renames: list[tuple[str, str]] = []
        for alias in node.names:
            target = self._fixable_target(f"{module}.{alias.name}")
            if target is None or target[0] != f"{module}.{alias.name}":
                return None
            home, _, public_name = target[1].rpartition(".")
            if new_module not in (None, home):
                return None
            new_module = home
            renames.append((public_name, alias.asname or alias.name))
        if new_module is None:
            return None
        return Fix("safe", f"Import from `{new_module}`", (NodeEdit(node, _import_from(new_module, renames)),))


def _chain(node: ast.AST) -> list[ast.expr] | None:
    """The nodes of ``a.b.c`` from the root name outwards, or ``None`` if not a pure chain."""
    chain: list[ast.expr] = []
    while isinstance(node, ast.Attribute):
        chain.append(node)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    chain.append(node)
    chain.reverse()
    return chain


def _needs_parentheses(expr: ast.expr, parent: ast.AST | None) -> bool:
    """Whether a conditional expression put in place of ``expr`` needs parentheses there."""
    if isinstance(parent, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Return, ast.Expr, ast.keyword)):
        return False
    if isinstance(parent, ast.Call) and expr in parent.args:
        return False
    if isinstance(parent, (ast.List, ast.Set)):
        return False
    return True


def _is_documented(qualified: str) -> bool:
    return any(qualified == name or qualified.startswith(name + ".") for name in DOCUMENTED)


def _expression(text: str):  # type: ignore[no-untyped-def]
    def build(old):  # type: ignore[no-untyped-def]
        import libcst as cst

        return cst.parse_expression(text)

    return build


def _import_from(module: str, renames: list[tuple[str, str]]):  # type: ignore[no-untyped-def]
    def build(old):  # type: ignore[no-untyped-def]
        import libcst as cst

        aliases = []
        for alias, (public_name, local) in zip(old.names, renames):
            asname = None if local == public_name else cst.AsName(name=cst.Name(local))
            aliases.append(alias.with_changes(name=cst.Name(public_name), asname=asname))
        return old.with_changes(module=cst.parse_expression(module), names=aliases)

    return build
