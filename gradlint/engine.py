"""Check or fix one file: parse once with the stdlib ast, one walk for the model and every rule.

The flow for a check: text triggers pick the rules that could match; the stdlib parse is the
syntax check (GL000); one walk builds the semantic model and runs every ast rule's visitors;
positions are computed only for the nodes reported. libcst is imported only for fixes.
"""

from __future__ import annotations

import ast
import contextlib
import gc
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from gradlint.config import Settings, expand_codes
from gradlint.discovery import relative_to_root, spec_for
from gradlint.fileinfo import FileInfo
from gradlint.findings import PARSE_ERROR_CODE, Edit, FileResult, Finding, FixInfo, Location, parse_error
from gradlint.positions import LineIndex
from gradlint.parsing import Parsed, parse
from gradlint.rule import Report, Rule
from gradlint.rules import all_rules
from gradlint.semantic.model import SemanticModel
from gradlint.semantic.walker import DispatchTable, analyse, recursion_headroom
from gradlint.suppression import ALL, file_suppressions, is_suppressed, line_suppressions

MAX_FIX_ROUNDS = 10
# Grammar newer than 3.11: ``type`` statements, type parameters, f-strings reusing their quote.
_NEWER_GRAMMAR = re.compile(r"^[ \t]*type[ \t]+\w+[ \t]*(?:\[|=)|\b(?:def|class)[ \t]+\w+[ \t]*\[|\bf[\"']", re.MULTILINE)


class RuleCrash(Exception):
    """A rule raised while checking a file: reported for that file, the run goes on (exit 2)."""


class FixError(Exception):
    """A fix produced code that does not parse; it is dropped, never written."""


@dataclass(slots=True)
class Placed:
    """An ast rule's report with its position and suppression resolved."""

    report: Report
    start: Location
    end: Location
    noqa_row: int
    suppressed: bool


class Engine:
    """Holds the rule objects (built once per process) and checks files one at a time."""

    def __init__(self, settings: Settings, *, want_edits: bool = False) -> None:
        self.settings = settings
        self.want_edits = want_edits
        enabled = settings.enabled_codes
        rules = [rule_class(settings.options) for rule_class in all_rules() if rule_class.code in enabled]
        # Project rules that collect facts from the source text themselves (GL004).
        self.source_rules = [rule for rule in rules if hasattr(rule, "facts_from_source")]
        self.ast_rules: list[Rule] = [rule for rule in rules if rule not in self.source_rules]
        self._tables: dict[tuple[str, ...], DispatchTable] = {}
        self._per_file = [
            (spec_for((pattern,)), frozenset(expand_codes(selectors, "per-file-ignores")))
            for pattern, selectors in settings.per_file_ignores
        ]

    # -- selection -----------------------------------------------------------------------

    def codes_for(self, info: FileInfo, text: str) -> frozenset[str]:
        codes = set(self.settings.enabled_codes)
        codes -= self._per_file_ignored(info.path)
        suppressed = file_suppressions(text)
        if suppressed is ALL:
            return frozenset()
        return frozenset(codes - suppressed)

    def _per_file_ignored(self, path: str) -> frozenset[str]:
        codes: set[str] = set()
        if self._per_file:
            relative = relative_to_root(path, self.settings.root)
            for spec, ignored in self._per_file:
                if spec.match_file(relative):
                    codes |= ignored
        return frozenset(codes)

    def _wanted(self, rules: Sequence[Rule], info: FileInfo, text: str, codes: frozenset[str]) -> list:
        return [rule for rule in rules if rule.code in codes and rule.wants_file(info) and rule.may_match(text)]

    def _table(self, rules: list[Rule]) -> DispatchTable:
        key = tuple(rule.code for rule in rules)
        table = self._tables.get(key)
        if table is None:
            table = self._tables[key] = DispatchTable(rules)
        return table

    # -- the ast rules ------------------------------------------------------------------

    def _walk(self, screened: Parsed, info: FileInfo, rules: list[Rule]) -> list[Report]:
        """One walk of the file for every ast rule; their reports."""
        model = SemanticModel(screened.tree, screened.text, info.path)
        try:
            with recursion_headroom():
                for rule in rules:
                    rule.begin_file(model, info)
                analyse(model, self._table(rules))
                reports: list[Report] = []
                for rule in rules:
                    rule.end_file()
                    reports.extend(rule.reports)
        except Exception as error:  # noqa: BLE001 - one file's crash must not end the run
            codes = ", ".join(rule.code for rule in rules)
            raise RuleCrash(f"{info.path}: a rule ({codes}) crashed: {type(error).__name__}: {error}") from error
        finally:
            for rule in rules:
                rule.reports = []
                rule.model = None  # type: ignore[assignment]
        return reports

    def _place(self, reports: list[Report], text: str, lines: LineIndex) -> list[Placed]:
        noqa = line_suppressions(text)
        placed = []
        for report in reports:
            start, end = lines.span(report.node)
            rows: tuple[int, ...] = (start.row,)
            noqa_row = start.row
            statement = report.statement
            if statement is not None and hasattr(statement, "lineno"):
                noqa_row = statement.lineno  # type: ignore[attr-defined]
                rows = (start.row, noqa_row)
            placed.append(Placed(report, start, end, noqa_row, is_suppressed(report.code, rows, noqa)))
        return placed

    # -- checking ------------------------------------------------------------------------

    def check_text(self, text: str, info: FileInfo) -> FileResult:
        """All findings (and project facts) for one file's text."""
        with _no_gc_pauses():
            return self._check_text(text, info)

    def _check_text(self, text: str, info: FileInfo) -> FileResult:
        result = FileResult(info.path)
        codes = self.codes_for(info, text)
        ast_rules = self._wanted(self.ast_rules, info, text, codes)
        source_rules = self._wanted(self.source_rules, info, text, codes)
        screened = parse(text, info.path)
        if isinstance(screened, SyntaxError):
            newer = _newer_syntax(text, screened)
            if newer is not None:
                result.skipped = newer
            elif PARSE_ERROR_CODE in codes:
                result.findings.append(_syntax_finding(info.path, screened))
            return result
        for rule in source_rules:
            facts = rule.facts_from_source(text, info, screened.tree)  # type: ignore[attr-defined]
            if facts:
                result.facts[rule.code] = facts
        if ast_rules:
            reports = self._walk(screened, info, ast_rules)
            for rule in ast_rules:
                if rule.facts:
                    result.facts[rule.code] = list(rule.facts)
                    rule.facts = []
            if reports:
                findings = self._ast_findings(text, info, reports, screened.tree)
                result.findings.extend(findings)
        result.findings.sort(key=lambda finding: finding.sort_key)
        return result

    def _ast_findings(self, text: str, info: FileInfo, reports: list[Report], tree: ast.Module) -> list[Finding]:
        lines = LineIndex(text)
        placed = [item for item in self._place(reports, text, lines) if not item.suppressed]
        report_edits = None
        findings = []
        for item in placed:
            report = item.report
            fix_info = None
            if report.fix is not None:
                edits: tuple[Edit, ...] = ()
                if self.want_edits:
                    from gradlint.fixing import FixError as CstFixError, ReportEdits

                    try:
                        if report_edits is None:
                            report_edits = ReportEdits(text, tree, _target_rows(lines, placed))
                        edits = report_edits.edits(report.fix)
                    except CstFixError:
                        edits = ()
                fix_info = FixInfo(report.fix.applicability, report.fix.message, edits)
            findings.append(
                Finding(info.path, report.code, report.message, item.start, item.end, fix_info, item.noqa_row)
            )
        return findings

    # -- fixing --------------------------------------------------------------------------

    def fix_text(self, text: str, info: FileInfo, *, unsafe: bool) -> tuple[str, int, list[str]]:
        """Apply fixes until none applies: the new text, how many fixes, dropped-fix notes.

        Suppressed findings are never fixed. Each round's result must parse; a round that
        does not is retried one fix at a time and the fixes that break the code are dropped.
        """
        errors: list[str] = []
        applied = 0
        dropped: set[tuple[str, str, int, int]] = set()
        codes = self.codes_for(info, text)
        for _ in range(MAX_FIX_ROUNDS):
            screened = parse(text, info.path)
            if isinstance(screened, SyntaxError):
                break
            new_text, count = self._fix_round(text, info, screened, codes, unsafe, dropped, errors)
            if count == 0 or new_text == text:
                break
            applied += count
            text = new_text
        return text, applied, errors

    def _fix_round(self, text, info, screened, codes, unsafe, dropped, errors):  # type: ignore[no-untyped-def]
        rules = self._wanted(self.ast_rules, info, text, codes)
        if not rules:
            return text, 0
        reports = self._walk(screened, info, rules)
        lines = LineIndex(text)
        candidates = [
            item
            for item in self._place(reports, text, lines)
            if not item.suppressed
            and item.report.fix is not None
            and (unsafe or item.report.fix.applicability == "safe")
            and _key(item.report.code, item.report.message, item.start) not in dropped
        ]
        if not candidates:
            return text, 0
        from gradlint.fixing import CstIndex, FixError as CstFixError, apply_fixes

        chosen = _non_overlapping(candidates, lines)
        try:
            index = CstIndex(text, screened.tree)
        except CstFixError as error:
            for item in chosen:
                dropped.add(_key(item.report.code, item.report.message, item.start))
                errors.append(f"{info.path}:{item.start.row}:{item.start.column}: {item.report.code} fix dropped: {error}")
            return text, 0
        try:
            new_text = apply_fixes(index, [item.report.fix for item in chosen])  # type: ignore[misc]
            check_syntax(new_text, info.path)
            return new_text, len(chosen)
        except (CstFixError, FixError):
            pass
        for item in chosen:
            try:
                attempt = apply_fixes(index, [item.report.fix])  # type: ignore[list-item]
                check_syntax(attempt, info.path)
            except (CstFixError, FixError) as error:
                dropped.add(_key(item.report.code, item.report.message, item.start))
                errors.append(f"{info.path}:{item.start.row}:{item.start.column}: {item.report.code} fix dropped: {error}")
                continue
            return attempt, 1
        return text, 0


@contextlib.contextmanager
def _no_gc_pauses() -> Iterator[None]:
    """The cyclic collector off while one file is parsed and walked.

    Building an ast allocates hundreds of thousands of objects, and the collector would run
    over them (and over everything else alive) many times: about a third of the parse. The
    trees of one file are freed when it is re-enabled and next runs.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _target_rows(lines: LineIndex, placed: list[Placed]) -> list[tuple[int, int]]:
    """The first and last row of every node a fix of these findings edits."""
    rows = []
    for item in placed:
        for edit in item.report.fix.edits if item.report.fix is not None else ():
            start, end = lines.span(edit.target)
            rows.append((start.row, end.row))
    return rows


def _key(code: str, message: str, start: Location) -> tuple[str, str, int, int]:
    return (code, message, start.row, start.column)


def _non_overlapping(items: list[Placed], lines: LineIndex) -> list[Placed]:
    """Fixes whose edited ranges do not overlap; the others wait for the next round."""
    chosen: list[Placed] = []
    taken: list[tuple[Location, Location]] = []
    for item in sorted(items, key=lambda i: (i.start.row, i.start.column)):
        assert item.report.fix is not None
        spans = [lines.span(edit.target) for edit in item.report.fix.edits]
        if any(start < other_end and other_start < end for start, end in spans for other_start, other_end in taken):
            continue
        chosen.append(item)
        taken.extend(spans)
    return chosen


def check_syntax(text: str, path: str) -> None:
    screened = parse(text, path)
    if isinstance(screened, SyntaxError):
        raise FixError(f"the fixed code does not parse ({_syntax_finding(path, screened).message})")


def _syntax_finding(path: str, error: SyntaxError) -> Finding:
    """The GL000 finding for a file the stdlib compiler rejects."""
    location = Location(error.lineno or 1, error.offset or 1)
    message = error.msg if error.msg.startswith(("cannot parse", "cannot compile")) else f"SyntaxError: {error.msg}"
    return parse_error(path, message, location)


def _newer_syntax(text: str, error: SyntaxError) -> str | None:
    """A skip note when the file is valid Python for a newer interpreter than this one.

    The running ``ast`` rejected it; libcst's parser knows newer grammar (PEP 695 type
    parameters and ``type`` statements, PEP 701 f-strings). Checking such a file needs the
    newer interpreter's ``ast``, so it is skipped with a warning rather than reported as GL000.
    """
    if error.msg.startswith("cannot parse") or not _NEWER_GRAMMAR.search(text):
        return None
    if getattr(error, "gradlint_compiler", False):
        return None  # the grammar was fine; the compiler refused it (no newer Python would run it)
    try:
        import libcst as cst

        cst.parse_module(text)
    except Exception:  # noqa: BLE001 - any failure means "not valid for a newer Python either"
        return None
    import sys

    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    return (
        f"uses syntax newer than Python {running} (line {error.lineno}: {error.msg}); "
        "not checked: run gradlint under a newer Python to check it"
    )


__all__ = ["Engine", "FixError", "RuleCrash", "ast"]
