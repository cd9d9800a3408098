"""The libcst pass for rules not yet on the ast and semantic model (:class:`CstRule`).

Kept apart from :mod:`gradlint.engine` so that it can be deleted whole once every rule has
moved: it is imported only when an enabled ``CstRule`` wants a file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import CodeRange

from gradlint.context import ContextTracker, FileContext, FileInfo
from gradlint.cst_rule import CstFix, CstReport, CstRule
from gradlint.findings import Location, parse_error, Finding
from gradlint.fixing import FixError, replace_nodes
from gradlint.prescreen import AstScreen, blank_out, statements_with_imports
from gradlint.suppression import is_suppressed, line_suppressions


class RuleCrash(Exception):
    """A rule raised while checking a file: reported for that file, the run goes on (exit 2)."""


@dataclass(slots=True)
class Analysis:
    module: cst.Module | None
    reports: list[CstReport]
    facts: dict[str, list[object]]
    error: Finding | None = None
    ctx: FileContext | None = None


@dataclass(slots=True)
class Placed:
    """A report with its position and suppression resolved."""

    report: CstReport
    span: CodeRange
    noqa_row: int
    suppressed: bool


class CstPass:
    """Runs the libcst rules over one file (parse, one batched visit, positions)."""

    def __init__(self) -> None:
        # The tree of a text whose visit ran out of recursion: the runner checks that file
        # again with a deeper stack, and libcst's parse of such files is the slow part.
        self._deep: tuple[str, cst.Module] | None = None
        self._holder: list[FileContext] = []
        self._enter = ContextTracker(self._holder, enter=True)
        self._exit = ContextTracker(self._holder, enter=False)

    def partial_text(self, text: str, screened: AstScreen, rules: list[CstRule]) -> str:
        """The text with the module-level statements no rule needs blanked out (checking only)."""
        keep: set[int] = set()
        for rule in rules:
            wanted = rule.regions(screened)
            if wanted is None:
                return text
            keep |= wanted
        if len(keep) == len(screened.tree.body):
            return text
        return blank_out(text, screened, keep | statements_with_imports(screened))

    def analyse(self, text: str, info: FileInfo, rules: list[CstRule]) -> Analysis:
        deep, self._deep = self._deep, None
        try:
            module = deep[1] if deep is not None and deep[0] == text else cst.parse_module(text)
        except cst.ParserSyntaxError as error:
            location = Location(error.raw_line, error.raw_column + 1)
            return Analysis(None, [], {}, parse_error(info.path, f"SyntaxError: {error.message}", location))
        except (RecursionError, MemoryError) as error:
            return Analysis(None, [], {}, parse_error(info.path, f"cannot parse: {type(error).__name__}", Location(1, 1)))
        ctx = FileContext(info, text, module)
        ctx.imports.add_module_level(module)
        self._holder[:] = [ctx]
        try:
            for rule in rules:
                rule.begin_file(ctx)
            cst.visit_batched(module, [self._enter, *rules, self._exit])
            reports: list[CstReport] = []
            for rule in rules:
                rule.end_file()
                reports.extend(rule.reports)
        except Exception as error:  # noqa: BLE001 - one file's crash must not end the run
            if isinstance(error, RecursionError):
                self._deep = (text, module)
            codes = ", ".join(rule.code for rule in rules)
            raise RuleCrash(f"{info.path}: a rule ({codes}) crashed: {type(error).__name__}: {error}") from error
        finally:
            for rule in rules:
                rule.reports = []
                rule.ctx = None
            self._holder.clear()
        return Analysis(module, reports, ctx.facts, ctx=ctx)

    def place(self, analysis: Analysis, text: str) -> tuple[list[Placed], Mapping[cst.CSTNode, CodeRange]]:
        assert analysis.ctx is not None
        positions = analysis.ctx.positions()
        noqa = line_suppressions(text)
        placed = []
        for report in analysis.reports:
            span = positions[report.node]
            rows: tuple[int, ...] = (span.start.line,)
            noqa_row = span.start.line
            if report.statement is not None and report.statement in positions:
                noqa_row = positions[report.statement].start.line
                rows = (span.start.line, noqa_row)
            placed.append(Placed(report, span, noqa_row, is_suppressed(report.code, rows, noqa)))
        return placed, positions


def non_overlapping(items: list[Placed], positions: Mapping[cst.CSTNode, CodeRange]) -> list[Placed]:
    """Fixes whose replaced nodes do not overlap; the others wait for the next round."""
    chosen: list[Placed] = []
    taken: list[tuple[tuple[int, int], tuple[int, int]]] = []
    for item in sorted(items, key=lambda i: (i.span.start.line, i.span.start.column)):
        assert item.report.fix is not None
        spans = []
        for old, _ in item.report.fix.replacements:
            span = positions[old]
            spans.append(((span.start.line, span.start.column), (span.end.line, span.end.column)))
        if any(start < other_end and other_start < end for start, end in spans for other_start, other_end in taken):
            continue
        chosen.append(item)
        taken.extend(spans)
    return chosen


def apply_cst_fixes(module: cst.Module, fixes: Iterable[CstFix]) -> str:
    """The module's code with the libcst fixes' replacements and imports applied."""
    replacements: dict[int, cst.CSTNode] = {}
    imports = []
    for fix in fixes:
        for old, new in fix.replacements:
            replacements[id(old)] = new
        imports.extend(fix.imports)
    return replace_nodes(module, replacements, imports)


__all__ = ["Analysis", "CstPass", "FixError", "Placed", "RuleCrash", "apply_cst_fixes", "non_overlapping"]
