"""Resolve names to the modules they were imported from, without libcst's scope providers.

``QualifiedNameProvider`` costs about six parses per file; the rules only need to know which
local names stand for ``torch`` (or a torch submodule or attribute). One table of import
bindings, plus a check that a function does not rebind the name locally, answers that.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import libcst as cst


def dotted_name(node: cst.BaseExpression) -> str | None:
    """``a.b.c`` for a chain of attributes on a name; ``None`` for anything else."""
    parts: list[str] = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if not isinstance(node, cst.Name):
        return None
    parts.append(node.value)
    return ".".join(reversed(parts))


def attribute_chain(node: cst.BaseExpression) -> list[cst.Attribute | cst.Name] | None:
    """The nodes of ``a.b.c`` from the root name outwards, or ``None`` if not a pure chain."""
    chain: list[cst.Attribute | cst.Name] = []
    while isinstance(node, cst.Attribute):
        chain.append(node)
        node = node.value
    if not isinstance(node, cst.Name):
        return None
    chain.append(node)
    chain.reverse()
    return chain


def import_bindings(node: cst.Import | cst.ImportFrom) -> Iterator[tuple[str, str]]:
    """``(local name, qualified name)`` for every name an import statement binds."""
    if isinstance(node, cst.Import):
        for alias in node.names:
            full = dotted_name(alias.name)
            if full is None:
                continue
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                yield alias.asname.name.value, full
            else:
                root = full.split(".", 1)[0]
                yield root, root
        return
    if node.relative or node.module is None or isinstance(node.names, cst.ImportStar):
        return
    module = dotted_name(node.module)
    if module is None:
        return
    for alias in node.names:
        name = dotted_name(alias.name)
        if name is None:
            continue
        local = name
        if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
            local = alias.asname.name.value
        yield local, f"{module}.{name}"


class ImportTable:
    """Local name -> qualified name for every import in a file (any scope)."""

    __slots__ = ("bindings",)

    def __init__(self) -> None:
        self.bindings: dict[str, str] = {}

    def add(self, node: cst.Import | cst.ImportFrom) -> None:
        for local, qualified in import_bindings(node):
            # The first binding wins: module-level imports come first in a file.
            self.bindings.setdefault(local, qualified)

    def add_module_level(self, module: cst.Module) -> None:
        """Collect imports at module level, including those nested in ``try``/``if`` blocks."""
        for statement in _module_level_statements(module.body):
            if isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    if isinstance(small, (cst.Import, cst.ImportFrom)):
                        self.add(small)

    def resolve(self, dotted: str) -> str | None:
        """Qualified name of a dotted expression such as ``T.nn.functional``, if imported."""
        root, _, rest = dotted.partition(".")
        qualified = self.bindings.get(root)
        if qualified is None:
            return None
        return f"{qualified}.{rest}" if rest else qualified



def _module_level_statements(
    body: Iterable[cst.BaseStatement],
) -> Iterator[cst.BaseStatement]:
    for statement in body:
        yield statement
        if isinstance(statement, cst.If):
            yield from _module_level_statements(statement.body.body)
            orelse = statement.orelse
            while orelse is not None:
                if isinstance(orelse, cst.If):
                    yield from _module_level_statements(orelse.body.body)
                    orelse = orelse.orelse
                else:
                    yield from _module_level_statements(orelse.body.body)
                    orelse = None
        elif isinstance(statement, (cst.Try, cst.TryStar)):
            yield from _module_level_statements(statement.body.body)
            for handler in statement.handlers:
                yield from _module_level_statements(handler.body.body)
            if statement.orelse is not None:
                yield from _module_level_statements(statement.orelse.body.body)


def binds_locally(function: cst.FunctionDef | cst.Lambda, name: str) -> bool:
    """Whether ``name`` is a parameter or a local (non-import) binding of ``function``.

    A parameter or local variable called ``torch`` is not the torch module.
    """
    return name in local_bindings(function)


def local_bindings(function: cst.FunctionDef | cst.Lambda) -> frozenset[str]:
    """Every parameter and local (non-import, non-global) binding of ``function``: one walk
    of its body for all names (a walk per name made long functions quadratic)."""
    params = function.params
    all_params = [
        *params.posonly_params,
        *params.params,
        *params.kwonly_params,
    ]
    if isinstance(params.star_arg, cst.Param):
        all_params.append(params.star_arg)
    if params.star_kwarg is not None:
        all_params.append(params.star_kwarg)
    names = {param.name.value for param in all_params}
    if isinstance(function, cst.Lambda):
        return frozenset(names)
    finder = _LocalBindingFinder()
    function.body.visit(finder)
    return frozenset(names | (finder.found - finder.declared_global))


class _LocalBindingFinder(cst.CSTVisitor):
    """Collects the names assigned in a function body, not descending into defs."""

    def __init__(self) -> None:
        super().__init__()
        self.found: set[str] = set()
        self.declared_global: set[str] = set()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_Global(self, node: cst.Global) -> None:
        self.declared_global.update(item.name.value for item in node.names)

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        self.declared_global.update(item.name.value for item in node.names)

    def _target(self, target: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name):
            self.found.add(target.value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._target(element.value)
        elif isinstance(target, cst.StarredElement):
            self._target(target.value)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._target(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._target(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._target(node.target)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._target(node.target)

    def visit_For(self, node: cst.For) -> None:
        self._target(node.target)

    def visit_AsName(self, node: cst.AsName) -> None:
        # ``with x as torch`` / ``except E as torch``; import aliases rebind to a module.
        self._target(node.name)

    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False
