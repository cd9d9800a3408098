"""Apply fixes found on the ast to the file's libcst tree, keeping every byte of formatting.

Only files that get fixed (``--fix``, ``--diff``, fix edits in JSON/SARIF) come here. The file
is parsed with libcst once; each :class:`~gradlint.rule.NodeEdit` names an ast node, and the
libcst node spanning the same source range is handed to the edit's builder. Imports a fix
needs are added where isort would put them (:mod:`gradlint.fix_imports`).
"""

from __future__ import annotations

import ast
import bisect
import difflib
from collections.abc import Iterable

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from gradlint.findings import Edit, Location
from gradlint.fix_imports import add_imports
from gradlint.positions import LineIndex, split_lines
from gradlint.rule import Fix, ImportSpec

# Which libcst classes can stand for an ast class at the same range.
_COUNTERPARTS: dict[type, tuple[type, ...]] = {
    ast.Call: (cst.Call,),
    ast.Attribute: (cst.Attribute,),
    ast.Name: (cst.Name,),
    ast.BinOp: (cst.BinaryOperation,),
    ast.UnaryOp: (cst.UnaryOperation,),
    ast.BoolOp: (cst.BooleanOperation,),
    ast.Compare: (cst.Comparison,),
    ast.Subscript: (cst.Subscript,),
    ast.Constant: (
        cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString, cst.ConcatenatedString,
        cst.FormattedString, cst.Name, cst.Ellipsis,
    ),
    ast.List: (cst.List,),
    ast.Tuple: (cst.Tuple,),
    ast.Dict: (cst.Dict,),
    ast.Set: (cst.Set,),
    ast.ListComp: (cst.ListComp,),
    ast.SetComp: (cst.SetComp,),
    ast.DictComp: (cst.DictComp,),
    ast.GeneratorExp: (cst.GeneratorExp,),
    ast.Lambda: (cst.Lambda,),
    ast.IfExp: (cst.IfExp,),
    ast.NamedExpr: (cst.NamedExpr,),
    ast.Starred: (cst.StarredElement, cst.StarredDictElement),
    ast.JoinedStr: (cst.FormattedString,),
    ast.Await: (cst.Await,),
    ast.Assign: (cst.Assign,),
    ast.AugAssign: (cst.AugAssign,),
    ast.AnnAssign: (cst.AnnAssign,),
    ast.Return: (cst.Return,),
    ast.Expr: (cst.Expr,),
    ast.Import: (cst.Import,),
    ast.ImportFrom: (cst.ImportFrom,),
    ast.alias: (cst.ImportAlias,),
    ast.FunctionDef: (cst.FunctionDef,),
    ast.AsyncFunctionDef: (cst.FunctionDef,),
    ast.ClassDef: (cst.ClassDef,),
    ast.If: (cst.If,),
    ast.For: (cst.For,),
    ast.While: (cst.While,),
    ast.With: (cst.With,),
    ast.Try: (cst.Try,),
    ast.Raise: (cst.Raise,),
    ast.Assert: (cst.Assert,),
    ast.arg: (cst.Param,),
    ast.keyword: (cst.Arg,),
    ast.arguments: (cst.Parameters,),
}


class FixError(Exception):
    """A fix could not be built or produced code that does not parse; it is dropped."""


class CstIndex:
    """The libcst tree of one text and a lookup from ast nodes to the libcst node at their range.

    Positions are resolved per top-level statement, only for the statements a fix touches:
    libcst's position pass renders what it measures, and over a whole long module it costs
    twice the parse. Each top-level statement is measured as a module of its own and shifted
    to its row in the file (top-level statements start at column 0, so columns carry over).
    """

    def __init__(self, text: str, tree: ast.Module | None = None) -> None:
        try:
            self.module = cst.parse_module(text)
        except (cst.ParserSyntaxError, RecursionError, MemoryError) as error:
            raise FixError(f"libcst cannot parse the file ({type(error).__name__})") from None
        self.lines = LineIndex(text)
        # libcst drops the final "\r" of a file ending in one when it renders the tree again.
        # Rendering costs more than the parse, so only such a file is rendered here.
        self.lost_suffix = ""
        if text.endswith("\r"):
            code = self.module.code
            self.lost_suffix = text[len(code):] if text.startswith(code) else ""
        self._groups = _statement_groups(self.module, text, tree)
        self._starts = [first for first, _, _ in self._groups]
        self._located: dict[int, _Located] = {}
        # The top-level statement of each node handed out by find(), for replace_nodes.
        self.statement_of: dict[int, int] = {}

    def _locate(self, group: int) -> _Located:
        located = self._located.get(group)
        if located is not None:
            return located
        _, anchor_row, body_index = self._groups[group]
        if body_index is None:
            shift = 0
            positions = MetadataWrapper(self.module, unsafe_skip_copy=True).resolve(PositionProvider)
        else:
            statement = self.module.body[body_index]
            alone = self.module.with_changes(body=[statement], header=(), footer=())
            positions = MetadataWrapper(alone, unsafe_skip_copy=True).resolve(PositionProvider)
            shift = anchor_row - positions[statement].start.line
        located = _Located(body_index)
        for node, span in positions.items():
            if body_index is not None and isinstance(node, cst.Module):
                continue  # the stand-in module itself
            key = (span.start.line + shift, span.start.column, span.end.line + shift, span.end.column)
            located.by_range.setdefault(key, []).append(node)
            located.by_class.setdefault(type(node), []).append((key, node))
        self._located[group] = located
        return located

    def _group_of(self, row: int) -> int:
        return max(0, bisect.bisect_right(self._starts, row) - 1)

    def _form_feeds(self, row: int) -> int:
        line = self.lines.line(row)
        return len(line) - len(line.lstrip("\x0c")) if line.startswith("\x0c") else 0

    def find(self, target: ast.AST) -> cst.CSTNode:
        """The libcst node of ``target``: same range and a matching class, or the smallest
        node of a matching class around it (``ast.arg`` vs ``cst.Param`` with its default)."""
        start, end = self.lines.span(target)
        wanted = _COUNTERPARTS.get(type(target))
        # libcst does not count form feeds at the start of a line as columns; the ast does.
        key = (
            start.row,
            start.column - 1 - self._form_feeds(start.row),
            end.row,
            end.column - 1 - self._form_feeds(end.row),
        )
        located = self._locate(self._group_of(start.row))
        found = self._match(located, key, wanted)
        if found is None:
            raise FixError(f"no libcst node for the {type(target).__name__} at {start.row}:{start.column}")
        if located.body_index is not None:
            self.statement_of[id(found)] = located.body_index
        return found

    @staticmethod
    def _match(located: _Located, key: tuple[int, int, int, int], wanted: tuple[type, ...] | None) -> cst.CSTNode | None:
        for node in located.by_range.get(key, ()):
            if wanted is None or isinstance(node, wanted):
                return node
        if wanted is None:
            return None
        best: tuple[tuple[int, int], cst.CSTNode] | None = None
        for kind in wanted:
            for span, node in located.by_class.get(kind, ()):
                if span[:2] <= key[:2] and span[2:] >= key[2:]:
                    size = (span[2] - span[0], span[3] - span[1])
                    if best is None or size < best[0]:
                        best = (size, node)
        return None if best is None else best[1]


class _Located:
    """The positions of the nodes of one top-level statement (or of the whole module)."""

    __slots__ = ("body_index", "by_range", "by_class")

    def __init__(self, body_index: int | None) -> None:
        self.body_index = body_index
        self.by_range: dict[tuple[int, int, int, int], list[cst.CSTNode]] = {}
        self.by_class: dict[type, list[tuple[tuple[int, int, int, int], cst.CSTNode]]] = {}


def _first_row(statement: ast.stmt) -> int:
    decorators = getattr(statement, "decorator_list", None)
    return min([statement.lineno, *(d.lineno for d in decorators)]) if decorators else statement.lineno


def _statement_groups(module: cst.Module, text: str, tree: ast.Module | None) -> list[tuple[int, int, int | None]]:
    """Per libcst top-level statement: the first row of its ast statements (decorators
    included), the row libcst's position of it starts at, and its index in the body.

    One libcst line can hold several ast statements (``a = 1; b = 2``). If the two trees do
    not line up, one group stands for the whole module (positions of everything).
    """
    whole = [(1, 1, None)]
    if tree is None:
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return whole
    statements = tree.body
    groups: list[tuple[int, int, int | None]] = []
    taken = 0
    for index, statement in enumerate(module.body):
        count = len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1
        if count < 1 or taken + count > len(statements):
            return whole
        first = statements[taken]
        groups.append((_first_row(first), first.lineno, index))
        taken += count
    if taken != len(statements) or not groups:
        return whole
    return groups


class _Replacer(cst.CSTTransformer):
    def __init__(self, replacements: dict[int, cst.CSTNode]) -> None:
        super().__init__()
        self._replacements = replacements

    def on_leave(self, original_node, updated_node):  # type: ignore[no-untyped-def, override]
        return self._replacements.get(id(original_node), updated_node)


def replace_nodes(
    module: cst.Module,
    replacements: dict[int, cst.CSTNode],
    imports: Iterable[ImportSpec],
    statements: Iterable[int] | None = None,
) -> str:
    """The module's code with nodes replaced (by ``id``) and the imports added.

    ``statements``: the indexes of the top-level statements that hold every replaced node,
    when known; only those are transformed (a transform renders nothing, but visits all).
    """
    try:
        if not replacements:
            fixed = module
        elif statements is None:
            fixed = module.visit(_Replacer(replacements))
        else:
            body: list[cst.CSTNode] = []
            touched = set(statements)
            for index, statement in enumerate(module.body):
                if index not in touched:
                    body.append(statement)
                    continue
                result = statement.visit(_Replacer(replacements))
                if isinstance(result, cst.FlattenSentinel):
                    body.extend(result.nodes)
                elif not isinstance(result, cst.RemovalSentinel):
                    body.append(result)
            fixed = module.with_changes(body=body)
        wanted = list(dict.fromkeys(imports))
        if wanted:
            fixed = add_imports(fixed, wanted)
        return fixed.code
    except Exception as error:  # a malformed replacement must not crash the run
        raise FixError(f"{type(error).__name__}: {error}") from None


def apply_fixes(index: CstIndex, fixes: Iterable[Fix]) -> str:
    """The code with every fix's edits and imports applied to ``index``'s tree."""
    replacements: dict[int, cst.CSTNode] = {}
    imports: list[ImportSpec] = []
    statements: set[int] | None = set()
    for fix in fixes:
        for edit in fix.edits:
            old = index.find(edit.target)
            where = index.statement_of.get(id(old))
            if where is None:
                statements = None
            elif statements is not None:
                statements.add(where)
            try:
                replacements[id(old)] = edit.build(old)
            except FixError:
                raise
            except Exception as error:  # a builder that fails drops its fix, not the run
                raise FixError(f"building the fix failed: {type(error).__name__}: {error}") from None
        imports.extend(fix.imports)
    return replace_nodes(index.module, replacements, imports, statements) + index.lost_suffix


def text_edits(old: str, new: str) -> tuple[Edit, ...]:
    """Line-granular edits that turn ``old`` into ``new`` (for JSON and SARIF output)."""
    old_lines = split_lines(old, keepends=True)
    new_lines = split_lines(new, keepends=True)
    edits = []
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        edits.append(Edit("".join(new_lines[j1:j2]), Location(i1 + 1, 1), Location(i2 + 1, 1)))
    return tuple(edits)


# Stands in for a line of a definition no fix touches; unique per row, so that a diff
# cannot align one with another.
_HIDDEN_PREFIX = "# gradlint: line "
_HIDDEN_LINE = _HIDDEN_PREFIX + "{} hidden from libcst"


class ReportEdits:
    """The line edits of each fix of one file, for JSON, SARIF and ``--show-fixes``.

    libcst parses and renders at about a tenth of the ast's speed, and the edits of a few
    fixes in a long file need only the statements they touch. So libcst gets a view of the
    file in which each top-level ``def``/``class`` that no fix touches is replaced, line for
    line, by a comment: every row keeps its number, and the imports, the module docstring
    and the first definition (isort's spacing after the import block looks at it, libcst's
    indentation guess at its first indented line) stay as they are. An edit that would reach
    into a hidden line is computed again from the whole file.
    """

    def __init__(self, text: str, tree: ast.Module, target_rows: list[tuple[int, int]]) -> None:
        self.text = text
        self.tree = tree
        self._view = _hidden_view(text, tree, target_rows)
        self._partial: CstIndex | None = None
        self._whole: CstIndex | None = None

    def edits(self, fix: Fix) -> tuple[Edit, ...]:
        """The fix as line edits of the file's text (FixError when it cannot be built)."""
        if self._view is not None:
            text, tree, hidden = self._view
            try:
                if self._partial is None:
                    self._partial = CstIndex(text, tree)
                edits = text_edits(text, apply_fixes(self._partial, [fix]))
                if not any(_reaches(edit, hidden) for edit in edits):
                    return edits
            except FixError:
                pass  # the whole file decides
        if self._whole is None:
            self._whole = CstIndex(self.text, self.tree)
        return text_edits(self.text, apply_fixes(self._whole, [fix]))


def _hidden_view(
    text: str, tree: ast.Module, target_rows: list[tuple[int, int]]
) -> tuple[str, ast.Module, frozenset[int]] | None:
    """The text with the untouched definitions hidden, the ast of what is left, the hidden rows."""
    hidden: set[int] = set()
    kept: list[ast.stmt] = []
    seen_definition = False
    for statement in tree.body:
        is_definition = isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        first, last = _first_row(statement), statement.end_lineno or statement.lineno
        if is_definition and seen_definition and not any(a <= last and first <= b for a, b in target_rows):
            hidden.update(range(first, last + 1))
        else:
            kept.append(statement)
        seen_definition = seen_definition or is_definition
    if not hidden:
        return None
    lines = split_lines(text, keepends=True)
    for row in hidden:
        line = lines[row - 1]
        ending = line[len(line.rstrip("\r\n")) :]
        lines[row - 1] = _HIDDEN_LINE.format(row) + ending
    return "".join(lines), ast.Module(body=kept, type_ignores=[]), frozenset(hidden)


def _reaches(edit: Edit, hidden: frozenset[int]) -> bool:
    """Whether an edit replaces a hidden row, inserts next to one or writes a stand-in."""
    first, end = edit.location.row, edit.end_location.row
    return _HIDDEN_PREFIX in edit.content or any(row in hidden for row in range(first - 1, end + 1))
