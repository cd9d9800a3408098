"""What a rule may know about the file it is visiting."""

from __future__ import annotations

import ast

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import libcst as cst
from libcst.metadata import CodePosition, CodeRange, MetadataWrapper, PositionProvider

from gradlint.fileinfo import FileInfo, describe_file
from gradlint.names import ImportTable, local_bindings

__all__ = ["ContextTracker", "FileContext", "FileInfo", "describe_file"]



@dataclass(slots=True)
class FileContext:
    """Per-file facts shared by all rules, kept current by :class:`ContextTracker`."""

    info: FileInfo
    source: str
    module: cst.Module
    imports: ImportTable = field(default_factory=ImportTable)
    statements: list[cst.CSTNode] = field(default_factory=list)
    functions: list[cst.FunctionDef | cst.Lambda] = field(default_factory=list)
    facts: dict[str, list[Any]] = field(default_factory=dict)
    _shadow_cache: dict[int, frozenset[str]] = field(default_factory=dict)
    _positions: Mapping[cst.CSTNode, CodeRange] | None = None

    def positions(self) -> Mapping[cst.CSTNode, CodeRange]:
        """Line/column ranges of every node (0-based columns), resolved once per file.

        Positions cost about two parses; the engine asks only for files with findings, and
        prefers :meth:`statement_positions` when it can.
        """
        if self._positions is None:
            self._positions = MetadataWrapper(self.module, unsafe_skip_copy=True).resolve(
                PositionProvider
            )
        return self._positions

    def statement_positions(
        self, tops: list[cst.CSTNode], tree: ast.Module
    ) -> Mapping[cst.CSTNode, CodeRange]:
        """Positions of the nodes inside some module-level statements only.

        Each statement is laid out alone (positions cost a code generation of everything
        they cover) and shifted to the line where the stdlib ``ast`` says it starts.
        """
        if self._positions is not None:
            return self._positions
        wanted = {id(top) for top in tops}
        first_lines = _first_lines(self.module, tree)
        if first_lines is None:
            return self.positions()
        result: dict[cst.CSTNode, CodeRange] = {}
        for statement, first_line in zip(self.module.body, first_lines):
            if id(statement) not in wanted:
                continue
            alone = cst.Module(
                body=[statement],
                header=[],
                footer=[],
                default_indent=self.module.default_indent,
                default_newline=self.module.default_newline,
            )
            local = MetadataWrapper(alone, unsafe_skip_copy=True).resolve(PositionProvider)
            shift = first_line - local[statement].start.line
            for node, span in local.items():
                if node is alone:
                    continue
                result[node] = CodeRange(
                    CodePosition(span.start.line + shift, span.start.column),
                    CodePosition(span.end.line + shift, span.end.column),
                )
        return result

    @property
    def path(self) -> str:
        return self.info.path

    @property
    def is_test_file(self) -> bool:
        return self.info.is_test_file

    def current_statement(self) -> cst.CSTNode | None:
        return self.statements[-1] if self.statements else None

    def is_shadowed(self, name: str, functions: list[cst.FunctionDef | cst.Lambda] | None = None) -> bool:
        """Whether an enclosing function rebinds ``name`` (so it is not the imported module)."""
        for function in reversed(self.functions if functions is None else functions):
            bound = self._shadow_cache.get(id(function))
            if bound is None:
                bound = self._shadow_cache[id(function)] = local_bindings(function)
            if name in bound:
                return True
        return False

    def resolve(self, dotted: str, functions: list[cst.FunctionDef | cst.Lambda] | None = None) -> str | None:
        """Qualified name of a dotted expression, or ``None`` if its root is not an import."""
        root = dotted.partition(".")[0]
        if self.is_shadowed(root, functions):
            return None
        return self.imports.resolve(dotted)


class ContextTracker(cst.BatchableCSTVisitor):
    """Keeps the statement and function stacks current during the batched pass.

    Two instances run: the ``enter`` one first in the batch (so rules see the new node on the
    stacks) and the ``exit`` one last (so rules can still report from ``leave_*`` methods).
    """

    _PUSHED = ("SimpleStatementLine", "If", "For", "While", "With", "Try", "TryStar",
               "Match", "ClassDef")

    def __init__(self, ctx_holder: list[FileContext], *, enter: bool) -> None:
        super().__init__()
        self._holder = ctx_holder
        if enter:
            table = {f"visit_{name}": self._push_statement for name in self._PUSHED}
            table["visit_FunctionDef"] = self._push_function
            table["visit_Lambda"] = self._push_lambda
            table["visit_Import"] = self._add_import
            table["visit_ImportFrom"] = self._add_import
        else:
            table = {f"leave_{name}": self._pop_statement for name in self._PUSHED}
            table["leave_FunctionDef"] = self._pop_function
            table["leave_Lambda"] = self._pop_lambda
        self._visitors = table

    def get_visitors(self):  # type: ignore[override]
        return self._visitors

    def _push_statement(self, node: cst.CSTNode) -> None:
        self._holder[0].statements.append(node)

    def _pop_statement(self, node: cst.CSTNode) -> None:
        self._holder[0].statements.pop()

    def _push_function(self, node: cst.FunctionDef) -> None:
        ctx = self._holder[0]
        ctx.statements.append(node)
        ctx.functions.append(node)

    def _pop_function(self, node: cst.FunctionDef) -> None:
        ctx = self._holder[0]
        ctx.statements.pop()
        ctx.functions.pop()

    def _push_lambda(self, node: cst.Lambda) -> None:
        self._holder[0].functions.append(node)

    def _pop_lambda(self, node: cst.Lambda) -> None:
        self._holder[0].functions.pop()

    def _add_import(self, node: cst.Import | cst.ImportFrom) -> None:
        self._holder[0].imports.add(node)



def _first_lines(module: cst.Module, tree: ast.Module) -> list[int] | None:
    """The line each module-level libcst statement starts on, from the matching ast nodes.

    ``a = 1; b = 2`` is one libcst statement and two ast statements. ``None`` if the two
    trees do not line up.
    """
    lines: list[int] = []
    index = 0
    body = tree.body
    for statement in module.body:
        if index >= len(body):
            return None
        # Both trees place a decorated definition at its ``def``/``class`` line.
        lines.append(body[index].lineno)
        index += len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1
    return lines if index == len(body) else None
