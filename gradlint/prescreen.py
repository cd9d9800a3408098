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

from gradlint.positions import split_lines


class AstScreen:
    """The file's ``ast`` tree, with node lists by type and import bindings, built lazily."""

    __slots__ = ("tree", "text", "memo", "_by_type", "_imports")

    def __init__(self, tree: ast.Module, text: str) -> None:
        self.tree = tree
        self.text = text
        # Per-rule results of the screen, so ``regions`` need not redo ``prescreen``'s work.
        self.memo: dict[str, object] = {}
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
    """Parse and compile with the stdlib; a ``SyntaxError`` (also for NUL bytes, or too deep
    to parse) is returned."""
    try:
        tree = compile(text, path, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as error:
        return error
    except (ValueError, RecursionError, MemoryError) as error:
        failure = SyntaxError(f"cannot parse: {error}")
        failure.lineno, failure.offset = 1, 1
        return failure
    try:
        # The parser accepts what the compiler then rejects (`return` outside a function, a
        # late `from __future__` import, `nonlocal` at module level...): GL000 is exactly what
        # Python refuses to run. Compiling the tree costs about a fifth of the parse.
        compile(tree, path, "exec", dont_inherit=True)
    except SyntaxError as error:
        error.gradlint_compiler = True  # type: ignore[attr-defined] # not newer grammar, see engine
        return error
    except RecursionError:
        # Compiling an ast object recurses deeper than compiling the text: ask the text.
        try:
            compile(text, path, "exec", dont_inherit=True)
        except SyntaxError as error:
            error.gradlint_compiler = True  # type: ignore[attr-defined]
            return error
        except (ValueError, RecursionError, MemoryError) as error:
            failure = SyntaxError(f"cannot compile: {error}")
            failure.lineno, failure.offset = 1, 1
            failure.gradlint_compiler = True  # type: ignore[attr-defined]
            return failure
    except (ValueError, MemoryError) as error:
        failure = SyntaxError(f"cannot compile: {error}")
        failure.lineno, failure.offset = 1, 1
        failure.gradlint_compiler = True  # type: ignore[attr-defined]
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


def scopes(
    screen: AstScreen,
) -> Iterator[tuple[ast.FunctionDef | ast.AsyncFunctionDef | None, str, Iterator[ast.AST]]]:
    """``(function or None, source text, nodes)`` for each function and the module-level code.

    A function's nodes include its nested functions; module-level nodes exclude every
    function body. Text comes first so that a rule can reject a scope by regex before
    paying for the walk.
    """
    lines = split_lines(screen.text)
    defs = functions(screen)
    for node in defs:
        yield node, "\n".join(lines[node.lineno - 1 : node.end_lineno]), ast.walk(node)
    covered = sorted((node.lineno, node.end_lineno or node.lineno) for node in defs)
    outside: list[str] = []
    position = 1
    for start, end in covered:
        if start > position:
            outside.extend(lines[position - 1 : start - 1])
        position = max(position, end + 1)
    outside.extend(lines[position - 1 :])
    yield None, "\n".join(outside), _walk_outside_functions(screen.tree)


def _walk_outside_functions(tree: ast.Module) -> Iterator[ast.AST]:
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, _FUNCTIONS):
            stack.extend(ast.iter_child_nodes(node))


def statement_lines(statement: ast.stmt) -> tuple[int, int]:
    """First and last line of a module-level statement, decorators included."""
    first = statement.lineno
    for decorator in getattr(statement, "decorator_list", ()):
        first = min(first, decorator.lineno)
    return first, statement.end_lineno or statement.lineno


def statements_holding(screen: AstScreen, lines: list[int]) -> set[int]:
    """Indexes of the module-level statements that contain any of ``lines``."""
    spans = [statement_lines(statement) for statement in screen.tree.body]
    found: set[int] = set()
    for line in lines:
        for index, (first, last) in enumerate(spans):
            if first <= line <= last:
                found.add(index)
                break
    return found


def statements_with_imports(screen: AstScreen) -> set[int]:
    """Module-level statements that import something (kept so names still resolve)."""
    return {
        index
        for index, statement in enumerate(screen.tree.body)
        if any(isinstance(node, (ast.Import, ast.ImportFrom)) for node in _statements([statement]))
    }


def blank_out(text: str, screen: AstScreen, keep: set[int]) -> str:
    """``text`` with every module-level statement not in ``keep`` replaced by empty lines.

    Line numbers and columns of what is kept do not change, so positions, ``# noqa`` lines and
    findings read the same; only far less code is parsed with libcst.
    """
    lines = split_lines(text, keepends=True)
    kept_lines: set[int] = set()
    dropped: list[tuple[int, int]] = []
    for index, statement in enumerate(screen.tree.body):
        first, last = statement_lines(statement)
        if index in keep:
            kept_lines.update(range(first, last + 1))
        else:
            dropped.append((first, last))
    for first, last in dropped:
        for number in range(first, last + 1):
            if number not in kept_lines and number <= len(lines):
                line = lines[number - 1]
                lines[number - 1] = line[len(line.rstrip("\r\n")):]
    return "".join(lines)
