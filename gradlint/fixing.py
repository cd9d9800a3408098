"""Apply fixes found on the ast to the file's libcst tree, keeping every byte of formatting.

Only files that get fixed (``--fix``, ``--diff``, fix edits in JSON/SARIF) come here. The file
is parsed with libcst once; each :class:`~gradlint.rule.NodeEdit` names an ast node, and the
libcst node spanning the same source range is handed to the edit's builder. Imports a fix
needs are added where isort would put them (:mod:`gradlint.fix_imports`).
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Iterable

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

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
    """The libcst tree of one text and a lookup from ast nodes to the libcst node at their range."""

    def __init__(self, text: str) -> None:
        try:
            self.module = cst.parse_module(text)
        except (cst.ParserSyntaxError, RecursionError, MemoryError) as error:
            raise FixError(f"libcst cannot parse the file ({type(error).__name__})") from None
        self.lines = LineIndex(text)
        # libcst drops the final "\r" of a CR-only file when it renders the tree again.
        code = self.module.code
        self.lost_suffix = text[len(code):] if text.startswith(code) else ""
        positions = MetadataWrapper(self.module, unsafe_skip_copy=True).resolve(PositionProvider)
        self._by_range: dict[tuple[int, int, int, int], list[cst.CSTNode]] = {}
        self._by_class: dict[type, list[tuple[CodeRange, cst.CSTNode]]] = {}
        for node, span in positions.items():
            key = (span.start.line, span.start.column, span.end.line, span.end.column)
            self._by_range.setdefault(key, []).append(node)
            self._by_class.setdefault(type(node), []).append((span, node))

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
        for node in self._by_range.get(key, ()):
            if wanted is None or isinstance(node, wanted):
                return node
        if wanted is not None:
            best: tuple[tuple[int, int], cst.CSTNode] | None = None
            for kind in wanted:
                for span, node in self._by_class.get(kind, ()):
                    if (span.start.line, span.start.column) <= key[:2] and (span.end.line, span.end.column) >= key[2:]:
                        size = (span.end.line - span.start.line, span.end.column - span.start.column)
                        if best is None or size < best[0]:
                            best = (size, node)
            if best is not None:
                return best[1]
        raise FixError(f"no libcst node for the {type(target).__name__} at {start.row}:{start.column}")


class _Replacer(cst.CSTTransformer):
    def __init__(self, replacements: dict[int, cst.CSTNode]) -> None:
        super().__init__()
        self._replacements = replacements

    def on_leave(self, original_node, updated_node):  # type: ignore[no-untyped-def, override]
        return self._replacements.get(id(original_node), updated_node)


def replace_nodes(module: cst.Module, replacements: dict[int, cst.CSTNode], imports: Iterable[ImportSpec]) -> str:
    """The module's code with nodes replaced (by ``id``) and the imports added."""
    try:
        fixed = module.visit(_Replacer(replacements)) if replacements else module
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
    for fix in fixes:
        for edit in fix.edits:
            old = index.find(edit.target)
            try:
                replacements[id(old)] = edit.build(old)
            except FixError:
                raise
            except Exception as error:  # a builder that fails drops its fix, not the run
                raise FixError(f"building the fix failed: {type(error).__name__}: {error}") from None
        imports.extend(fix.imports)
    return replace_nodes(index.module, replacements, imports) + index.lost_suffix


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
