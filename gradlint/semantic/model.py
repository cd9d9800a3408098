"""Scopes, bindings and the queries rules ask of one file (kept current by the walker)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from gradlint.semantic.guards import Guard

if TYPE_CHECKING:
    from gradlint.semantic.kinds import Kind

FUNCTION_NODES = (ast.FunctionDef, ast.AsyncFunctionDef)
SCOPE_KINDS = ("module", "class", "function", "lambda", "comprehension")


class Binding:
    """One name bound by one statement (or parameter, loop target, import...).

    ``value`` is the bound expression where the binding has one (``x = value``, walrus, the
    default of a parameter is *not* a value); ``source`` is the iterated expression of a loop or
    comprehension target, ``default`` a parameter's default, ``path`` the position inside an unpacked target (``a, (b, c) = ...``
    gives ``b`` the path ``(1, 0)``); ``qualified`` the imported name of an import binding.
    """

    __slots__ = ("name", "kind", "node", "value", "scope_kind", "annotation", "source", "path", "qualified", "default")

    def __init__(
        self,
        name: str,
        kind: str,
        node: ast.AST,
        scope_kind: str,
        *,
        value: ast.expr | None = None,
        annotation: ast.expr | None = None,
        source: ast.expr | None = None,
        path: tuple[int, ...] = (),
        qualified: str | None = None,
        default: ast.expr | None = None,
    ) -> None:
        self.name = name
        self.kind = kind
        self.node = node
        # The kind of scope it binds in, not the Scope: a binding that pointed back at its scope
        # would make every file's model a reference cycle, freed only by the cyclic collector.
        self.scope_kind = scope_kind
        self.value = value
        self.annotation = annotation
        self.source = source
        self.path = path
        self.qualified = qualified
        self.default = default

    def __repr__(self) -> str:
        return f"Binding({self.name!r}, {self.kind}, line {getattr(self.node, 'lineno', '?')})"


class Scope:
    """A module, class, function, lambda or comprehension scope and the names bound in it."""

    __slots__ = ("kind", "node", "parent", "bindings", "globals", "nonlocals")

    def __init__(self, kind: str, node: ast.AST, parent: Scope | None) -> None:
        self.kind = kind
        self.node = node
        self.parent = parent
        self.bindings: dict[str, list[Binding]] = {}
        self.globals: set[str] = set()
        self.nonlocals: set[str] = set()

    def add(self, binding: Binding) -> None:
        self.bindings.setdefault(binding.name, []).append(binding)

    def last(self, name: str) -> Binding | None:
        found = self.bindings.get(name)
        return found[-1] if found else None

    def __repr__(self) -> str:
        return f"Scope({self.kind}, line {getattr(self.node, 'lineno', 0)})"


_MISSING: Any = object()


class SemanticModel:
    """What a rule may ask about the file it is visiting, current at the visited node.

    The walker records, for every node it visits, its parent (:meth:`parent`), and for every
    ``Name`` load the binding it resolved to (:meth:`binding_of`). They live in dicts here, not
    as attributes on the nodes: a node pointing at its parent would make each tree one big
    reference cycle, which only the cyclic collector frees (a third of a cold run went there).
    """

    def __init__(self, tree: ast.Module, text: str, path: str = "<string>") -> None:
        self.tree = tree
        self.text = text
        self.path = path
        self.module_scope = Scope("module", tree, None)
        self.scope = self.module_scope
        self.scopes: list[Scope] = [self.module_scope]
        self.statements: list[ast.stmt] = []
        self.functions: list[ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda] = []
        self.classes: list[ast.ClassDef] = []
        # Guards (see gradlint.semantic.guards): lexical ones, the index below which ``try``
        # guards stop applying (a function body runs later), and guards for the rest of a block.
        self.guard_stack: list[Guard] = []
        self.barriers: list[int] = [0]
        self.block_guards: list[list[Guard]] = [[]]
        # Names bound from a guard test: ``HAS_X = hasattr(torch, "_x")``.
        self.guard_names: dict[str, tuple[tuple[Guard, ...], tuple[Guard, ...]]] = {}
        # Functions that answer a version question: name -> "old" / "new" / "compare";
        # names bound once to a version test (``WITH_PT23 = torch_version >= (2, 3)``).
        self.version_functions: dict[str, str] = {}
        self.version_flags: dict[str, str] = {}
        self.kind_cache: dict[int, Kind] = {}
        # self.attr = value, per class: class node id -> attribute -> values.
        self.attributes: dict[int, dict[str, list[ast.expr]]] = {}
        # Simple returns of local functions: function name -> returned expressions.
        self.returns: dict[ast.AST, list[ast.expr]] = {}
        self._byte_lines: list[bytes] | None = None
        self.parents: dict[ast.AST, ast.AST | None] = {tree: None}
        self.name_bindings: dict[ast.Name, Binding | None] = {}

    # -- where we are --------------------------------------------------------------------

    @property
    def statement(self) -> ast.stmt | None:
        """The innermost statement around the visited node."""
        return self.statements[-1] if self.statements else None

    @property
    def function(self) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        """The innermost ``def`` around the visited node (lambdas are skipped)."""
        for function in reversed(self.functions):
            if isinstance(function, FUNCTION_NODES):
                return function
        return None

    @property
    def class_def(self) -> ast.ClassDef | None:
        return self.classes[-1] if self.classes else None

    @property
    def top_statement(self) -> ast.stmt | None:
        return self.statements[0] if self.statements else None

    def parent(self, node: ast.AST) -> ast.AST | None:
        return self.parents.get(node)

    def visited(self, node: ast.AST) -> bool:
        """Whether the walk has reached ``node`` (so :meth:`parent` knows it)."""
        return node in self.parents

    def ancestors(self, node: ast.AST) -> Iterator[ast.AST]:
        parents = self.parents
        parent = parents.get(node)
        while parent is not None:
            yield parent
            parent = parents.get(parent)

    def enclosing_statement(self, node: ast.AST) -> ast.stmt | None:
        """The innermost statement around ``node``, the node excluded (a statement's own is
        the one around it). Asked only for reported nodes: a walk up the parents."""
        for ancestor in self.ancestors(node):
            if isinstance(ancestor, ast.stmt):
                return ancestor
        return None

    def source_segment(self, node: ast.AST) -> str | None:
        """The source text of ``node`` (``ast.get_source_segment`` re-splits the whole file on
        every call; this splits it once, as the tokenizer does)."""
        end_line = getattr(node, "end_lineno", None)
        end_col = getattr(node, "end_col_offset", None)
        if end_line is None or end_col is None:
            return None
        lines = self._byte_lines
        if lines is None:
            from gradlint.positions import split_lines

            lines = self._byte_lines = [line.encode("utf-8") for line in split_lines(self.text, keepends=True)]
        first, last = node.lineno - 1, end_line - 1  # type: ignore[attr-defined]
        if not 0 <= first <= last < len(lines):
            return None
        start_col = node.col_offset  # type: ignore[attr-defined]
        if first == last:
            chunk = lines[first][start_col:end_col]
        else:
            chunk = b"".join([lines[first][start_col:], *lines[first + 1 : last], lines[last][:end_col]])
        return chunk.decode("utf-8", "replace")

    # -- names ---------------------------------------------------------------------------

    def lookup(self, name: str, scope: Scope | None = None) -> Binding | None:
        """The binding of ``name`` visible at the current point (or from ``scope``)."""
        start = self.scope if scope is None else scope
        current: Scope | None = start
        while current is not None:
            if current is not start and current.kind == "class":
                current = current.parent
                continue
            if name in current.globals:
                return self.module_scope.last(name)
            found = current.bindings.get(name)
            if found:
                return found[-1]
            current = current.parent
        return None

    def binding_of(self, name: ast.Name) -> Binding | None:
        """The binding a ``Name`` load resolved to (at the walk, or now if not yet walked)."""
        found = self.name_bindings.get(name, _MISSING)
        if found is _MISSING:
            return self.lookup(name.id)
        return found

    def qualified_name(self, expr: ast.AST) -> str | None:
        """``torch.nn.utils.x`` for an attribute chain rooted at an import; else ``None``.

        A local that shadows the import (a parameter named ``torch``) resolves to ``None``.
        """
        parts: list[str] = []
        node = expr
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        binding = self.binding_of(node)
        if binding is None or binding.qualified is None:
            return None
        parts.append(binding.qualified)
        return ".".join(reversed(parts))

    def resolves_to(self, expr: ast.AST, *qualified: str) -> bool:
        return self.qualified_name(expr) in qualified

    # -- guards --------------------------------------------------------------------------

    def guards(self) -> list[Guard]:
        """Guards in force at the current point, innermost first."""
        barrier = self.barriers[-1]
        active = [
            guard
            for index, guard in enumerate(self.guard_stack)
            if not (guard.kind == "try" and index < barrier)
        ]
        for block in self.block_guards:
            active.extend(block)
        active.reverse()
        return active

    def is_guarded(self, qualified: str) -> bool:
        return any(guard.covers(qualified) for guard in self.guards())

    # -- values --------------------------------------------------------------------------

    def kind(self, expr: ast.AST | None) -> Kind:
        """What the value of ``expr`` is, as far as cheaply known (see :mod:`.kinds`)."""
        from gradlint.semantic.kinds import infer

        return infer(self, expr)

    def element_kind(self, kind: Kind) -> Kind:
        from gradlint.semantic.kinds import element_of

        return element_of(kind)
