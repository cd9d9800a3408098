"""A cheap second look at a file, with the stdlib ``ast``, before any libcst work.

``ast.parse`` costs about a tenth of ``libcst.parse_module`` and one ``ast.walk`` about as much
again; a libcst parse plus one visitor pass costs two parses. Rules whose text trigger matched
get this screen and say whether the file can really produce a finding; only files some rule
still wants are parsed with libcst. The ``ast`` parse doubles as the syntax check.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator


class AstScreen:
    """The file's ``ast`` tree, with node lists by type and import bindings, built lazily."""

    __slots__ = ("tree", "text", "_by_type", "_imports")

    def __init__(self, tree: ast.Module, text: str) -> None:
        self.tree = tree
        self.text = text
        self._by_type: dict[type, list[ast.AST]] | None = None
        self._imports: dict[str, str] | None = None

    def nodes(self, *kinds: type) -> Iterator[ast.AST]:
        """Every node of the given types, in one shared walk of the tree."""
        if self._by_type is None:
            by_type: dict[type, list[ast.AST]] = defaultdict(list)
            for node in ast.walk(self.tree):
                by_type[type(node)].append(node)
            self._by_type = by_type
        for kind in kinds:
            yield from self._by_type.get(kind, ())

    @property
    def imports(self) -> dict[str, str]:
        """Local name -> qualified name for every import in the file (any scope)."""
        if self._imports is None:
            bindings: dict[str, str] = {}
            for node in self.nodes(ast.Import, ast.ImportFrom):
                if isinstance(node, ast.Import):
                    for alias in node.names:
                        if alias.asname:
                            bindings.setdefault(alias.asname, alias.name)
                        else:
                            root = alias.name.split(".", 1)[0]
                            bindings.setdefault(root, root)
                elif node.module and not node.level:
                    for alias in node.names:
                        if alias.name != "*":
                            bindings.setdefault(alias.asname or alias.name, f"{node.module}.{alias.name}")
            self._imports = bindings
        return self._imports

    def resolve(self, node: ast.AST) -> str | None:
        """Qualified name of ``a.b.c`` when ``a`` is imported (no shadowing analysis)."""
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        bound = self.imports.get(node.id)
        if bound is None:
            return None
        parts.append(bound)
        return ".".join(reversed(parts))


def screen(text: str, path: str) -> AstScreen | SyntaxError:
    """Parse with the stdlib; a ``SyntaxError`` (or ``ValueError`` for NUL bytes) is returned."""
    try:
        tree = compile(text, path, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as error:
        return error
    except (ValueError, RecursionError, MemoryError) as error:
        failure = SyntaxError(f"cannot parse: {error}")
        failure.lineno, failure.offset = 1, 1
        return failure
    return AstScreen(tree, text)


_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_BLOCK_FIELDS = ("body", "orelse", "finalbody", "handlers", "cases")


def _statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement, nested ones included, without visiting expressions."""
    stack = list(reversed(body))
    while stack:
        statement = stack.pop()
        yield statement
        for name in _BLOCK_FIELDS:
            children = getattr(statement, name, None)
            if children:
                stack.extend(reversed(children))


def functions(screen: AstScreen) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    """Every function definition (methods and nested ones too), by a statement-level walk."""
    return [node for node in _statements(screen.tree.body) if isinstance(node, _FUNCTIONS)]


def scopes(screen: AstScreen) -> Iterator[tuple[str, Iterator[ast.AST]]]:
    """``(source text, nodes)`` for each function and for the module-level code.

    A function's nodes include its nested functions; module-level nodes exclude every
    function body. Text comes first so that a rule can reject a scope by regex before
    paying for the walk.
    """
    lines = screen.text.splitlines()
    defs = functions(screen)
    for node in defs:
        yield "\n".join(lines[node.lineno - 1 : node.end_lineno]), ast.walk(node)
    covered = sorted((node.lineno, node.end_lineno or node.lineno) for node in defs)
    outside: list[str] = []
    position = 1
    for start, end in covered:
        if start > position:
            outside.extend(lines[position - 1 : start - 1])
        position = max(position, end + 1)
    outside.extend(lines[position - 1 :])
    yield "\n".join(outside), _walk_outside_functions(screen.tree)


def _walk_outside_functions(tree: ast.Module) -> Iterator[ast.AST]:
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, _FUNCTIONS):
            stack.extend(ast.iter_child_nodes(node))
