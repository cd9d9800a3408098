"""Check or fix one file: parse once, run every applicable rule in one batched pass.

Work is only done where it can matter: rules whose text trigger does not match are not run;
every file is parsed with the stdlib ``ast`` (the syntax check) and each remaining rule's
prescreen looks at that tree; only the module-level statements some rule still wants are
parsed with libcst; positions are computed only for the statements that have findings.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import CodeRange

from gradlint.config import Settings, expand_codes
from gradlint.context import ContextTracker, FileContext, FileInfo
from gradlint.discovery import relative_to_root, spec_for
from gradlint.findings import PARSE_ERROR_CODE, Edit, FileResult, Finding, FixInfo, Location, parse_error
from gradlint.rule import Fix, Report, Rule
from gradlint.prescreen import AstScreen, blank_out, screen, statements_with_imports
from gradlint.rules import all_rules
from gradlint.suppression import ALL, file_suppressions, is_suppressed, line_suppressions

MAX_FIX_ROUNDS = 10


class RuleCrash(Exception):
    """A rule raised while checking a file: reported for that file, the run goes on (exit 2)."""


class FixError(Exception):
    """A fix produced code that does not parse; it is dropped, never written."""


@dataclass(slots=True)
class _Analysis:
    module: cst.Module | None
    reports: list[Report]
    facts: dict[str, list[object]]
    error: Finding | None = None
    ctx: FileContext | None = None
    tree: ast.Module | None = None


@dataclass(slots=True)
class _Placed:
    """A report with its position and suppression resolved."""

    report: Report
    span: CodeRange
    noqa_row: int
    suppressed: bool


class Engine:
    """Holds the rule objects (built once per process) and checks files one at a time."""

    def __init__(self, settings: Settings, *, want_edits: bool = False) -> None:
        self.settings = settings
        self.want_edits = want_edits
        enabled = settings.enabled_codes
        self.rules: list[Rule] = [
            rule_class(settings.options) for rule_class in all_rules() if rule_class.code in enabled
        ]
        # Project rules that collect facts from the source text themselves (GL004, on the
        # stdlib ``ast``): they never need the libcst parse.
        self.source_rules = [rule for rule in self.rules if hasattr(rule, "facts_from_source")]
        self.rules = [rule for rule in self.rules if rule not in self.source_rules]
        # per-file-ignores, expanded once rather than for every file.
        self._per_file = [
            (spec_for((pattern,)), frozenset(expand_codes(selectors, "per-file-ignores")))
            for pattern, selectors in settings.per_file_ignores
        ]
        # Off only in the test that proves the prescreen never changes findings.
        self.use_prescreen = True
        self._holder: list[FileContext] = []
        self._enter = ContextTracker(self._holder, enter=True)
        self._exit = ContextTracker(self._holder, enter=False)

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

    def _rules_for(self, info: FileInfo, text: str, codes: frozenset[str]) -> list[Rule]:
        return [
            rule
            for rule in self.rules
            if rule.code in codes and rule.wants_file(info) and rule.may_match(text)
        ]

    def _screen(
        self, text: str, info: FileInfo, codes: frozenset[str]
    ) -> tuple[AstScreen | Finding, list[Rule]]:
        """The stdlib parse (or its GL000) and the libcst rules the screen still wants."""
        screened = screen(text, info.path)
        if isinstance(screened, SyntaxError):
            return _syntax_finding(info.path, screened), []
        if not self.use_prescreen:
            return screened, self._rules_for(info, text, codes)
        return screened, [
            rule for rule in self._rules_for(info, text, codes) if rule.prescreen(screened)
        ]

    # -- analysis ------------------------------------------------------------------------

    def _analyse(self, text: str, info: FileInfo, rules: list[Rule]) -> _Analysis:
        try:
            module = cst.parse_module(text)
        except cst.ParserSyntaxError as error:
            location = Location(error.raw_line, error.raw_column + 1)
            return _Analysis(None, [], {}, parse_error(info.path, f"SyntaxError: {error.message}", location))
        except (RecursionError, MemoryError) as error:
            return _Analysis(
                None, [], {}, parse_error(info.path, f"cannot parse: {type(error).__name__}", Location(1, 1))
            )
        ctx = FileContext(info, text, module)
        ctx.imports.add_module_level(module)
        self._holder[:] = [ctx]
        try:
            for rule in rules:
                rule.begin_file(ctx)
            cst.visit_batched(module, [self._enter, *rules, self._exit])
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
                rule.ctx = None
            self._holder.clear()
        return _Analysis(module, reports, ctx.facts, ctx=ctx)

    def _partial_text(self, text: str, screened: AstScreen, rules: list[Rule]) -> str:
        """The text with the module-level statements no rule needs blanked out.

        Only when checking: fixes must see (and rewrite) the whole file.
        """
        if not self.use_prescreen:
            return text
        keep: set[int] = set()
        for rule in rules:
            wanted = rule.regions(screened)
            if wanted is None:
                return text
            keep |= wanted
        if len(keep) == len(screened.tree.body):
            return text
        return blank_out(text, screened, keep | statements_with_imports(screened))

    def _place(
        self, analysis: _Analysis, text: str, *, whole: bool = False
    ) -> tuple[list[_Placed], Mapping[cst.CSTNode, CodeRange]]:
        assert analysis.ctx is not None
        reports = analysis.reports
        tops = [report.top for report in reports]
        if whole or analysis.tree is None or any(top is None for top in tops):
            positions = analysis.ctx.positions()
        else:
            # Only the module-level statements with findings (fixes need every node).
            positions = analysis.ctx.statement_positions(tops, analysis.tree)  # type: ignore[arg-type]
        noqa = line_suppressions(text)
        placed = []
        for report in reports:
            span = positions[report.node]
            rows = (span.start.line,)
            noqa_row = span.start.line
            if report.statement is not None and report.statement in positions:
                noqa_row = positions[report.statement].start.line
                rows = (span.start.line, noqa_row)
            placed.append(_Placed(report, span, noqa_row, is_suppressed(report.code, rows, noqa)))
        return placed, positions

    def check_text(self, text: str, info: FileInfo) -> FileResult:
        """All findings (and project facts) for one file's text."""
        result = FileResult(info.path)
        codes = self.codes_for(info, text)
        screened, rules = self._screen(text, info, codes)
        if isinstance(screened, Finding):
            if PARSE_ERROR_CODE in codes:
                result.findings.append(screened)
            return result
        for rule in self.source_rules:
            if rule.code in codes and rule.wants_file(info) and rule.may_match(text):
                facts = rule.facts_from_source(text, info, screened.tree)  # type: ignore[attr-defined]
                if facts:
                    result.facts[rule.code] = facts
        if not rules:
            return result
        parsed = self._partial_text(text, screened, rules)
        analysis = self._analyse(parsed, info, rules)
        if parsed is not text and self.want_edits and any(r.fix for r in analysis.reports):
            # Fix edits are computed against the whole file: rare enough to parse it again.
            parsed = text
            analysis = self._analyse(text, info, rules)
        # Statement-by-statement positions need the ast of the very text that was parsed.
        analysis.tree = screened.tree if parsed is text else None
        if analysis.error is not None:
            if PARSE_ERROR_CODE in codes:
                result.findings.append(analysis.error)
            return result
        result.facts.update({key: list(value) for key, value in analysis.facts.items()})
        if not analysis.reports:
            return result
        assert analysis.module is not None
        placed, _ = self._place(analysis, text)
        for item in placed:
            if item.suppressed:
                continue
            result.findings.append(self._finding(info.path, analysis.module, text, item))
        result.findings.sort(key=lambda finding: finding.sort_key)
        return result

    def _finding(self, path: str, module: cst.Module, text: str, item: _Placed) -> Finding:
        report, span = item.report, item.span
        fix_info = None
        if report.fix is not None:
            edits: tuple[Edit, ...] = ()
            if self.want_edits:
                try:
                    edits = text_edits(text, apply_fixes(module, [report.fix]))
                except FixError:
                    edits = ()
            fix_info = FixInfo(report.fix.applicability, report.fix.message, edits)
        return Finding(
            path=path,
            code=report.code,
            message=report.message,
            location=Location(span.start.line, span.start.column + 1),
            end_location=Location(span.end.line, span.end.column + 1),
            fix=fix_info,
            noqa_row=item.noqa_row,
        )

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
            screened, rules = self._screen(text, info, codes)
            if isinstance(screened, Finding) or not rules:
                break
            analysis = self._analyse(text, info, rules)
            if analysis.module is None or not analysis.reports:
                break
            placed, positions = self._place(analysis, text, whole=True)
            candidates = [
                item
                for item in placed
                if not item.suppressed
                and item.report.fix is not None
                and (unsafe or item.report.fix.applicability == "safe")
                and _key(item) not in dropped
            ]
            chosen = _non_overlapping(candidates, positions)
            if not chosen:
                break
            try:
                new_text = apply_fixes(analysis.module, [item.report.fix for item in chosen])  # type: ignore[misc]
                check_syntax(new_text, info.path)
                applied += len(chosen)
            except FixError:
                new_text = text
                for item in chosen:
                    try:
                        # The fixes hold nodes of this round's tree: apply one to that tree.
                        attempt = apply_fixes(analysis.module, [item.report.fix])  # type: ignore[list-item]
                        check_syntax(attempt, info.path)
                    except (FixError, cst.ParserSyntaxError) as error:
                        dropped.add(_key(item))
                        errors.append(
                            f"{info.path}:{item.span.start.line}:{item.span.start.column + 1}: "
                            f"{item.report.code} fix dropped: {error}"
                        )
                        continue
                    # Re-analyse from scratch: node identities changed.
                    new_text = attempt
                    applied += 1
                    break
            if new_text == text:
                break
            text = new_text
        return text, applied, errors


def _key(item: _Placed) -> tuple[str, str, int, int]:
    return (item.report.code, item.report.message, item.span.start.line, item.span.start.column)


def _non_overlapping(items: list[_Placed], positions: Mapping[cst.CSTNode, CodeRange]) -> list[_Placed]:
    """Fixes whose replaced nodes do not overlap; the others wait for the next round."""
    chosen: list[_Placed] = []
    taken: list[tuple[tuple[int, int], tuple[int, int]]] = []
    for item in sorted(items, key=lambda i: (i.span.start.line, i.span.start.column)):
        assert item.report.fix is not None
        spans = []
        for old, _ in item.report.fix.replacements:
            span = positions[old]
            spans.append(((span.start.line, span.start.column), (span.end.line, span.end.column)))
        if any(
            start < other_end and other_start < end
            for start, end in spans
            for other_start, other_end in taken
        ):
            continue
        chosen.append(item)
        taken.extend(spans)
    return chosen


class _Replacer(cst.CSTTransformer):
    def __init__(self, replacements: dict[int, cst.CSTNode]) -> None:
        super().__init__()
        self._replacements = replacements

    def on_leave(self, original_node, updated_node):  # type: ignore[no-untyped-def, override]
        return self._replacements.get(id(original_node), updated_node)


def apply_fixes(module: cst.Module, fixes: Iterable[Fix]) -> str:
    """The module's code with the fixes' replacements and imports applied."""
    replacements: dict[int, cst.CSTNode] = {}
    imports = []
    for fix in fixes:
        for old, new in fix.replacements:
            replacements[id(old)] = new
        imports.extend(fix.imports)
    try:
        fixed = module.visit(_Replacer(replacements))
        if imports:
            # libcst.codemod costs ~0.2 s to import; only fixes that add imports need it.
            from libcst.codemod import CodemodContext
            from libcst.codemod.visitors import AddImportsVisitor

            context = CodemodContext()
            for spec in dict.fromkeys(imports):
                AddImportsVisitor.add_needed_import(context, spec.module, spec.name)
            fixed = AddImportsVisitor(context).transform_module(fixed)
        return fixed.code
    except Exception as error:  # a malformed replacement must not crash the run
        raise FixError(f"{type(error).__name__}: {error}") from None


def check_syntax(text: str, path: str) -> None:
    screened = screen(text, path)
    if isinstance(screened, SyntaxError):
        raise FixError(f"the fixed code does not parse ({_syntax_finding(path, screened).message})")


def _syntax_finding(path: str, error: SyntaxError) -> Finding:
    """The GL000 finding for a file the stdlib compiler rejects."""
    location = Location(error.lineno or 1, error.offset or 1)
    message = error.msg if error.msg.startswith("cannot parse") else f"SyntaxError: {error.msg}"
    return parse_error(path, message, location)


def text_edits(old: str, new: str) -> tuple[Edit, ...]:
    """Line-granular edits that turn ``old`` into ``new`` (for JSON and SARIF output)."""
    old_lines = old.splitlines(keepends=True)
    new_lines = new.splitlines(keepends=True)
    edits = []
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        edits.append(Edit("".join(new_lines[j1:j2]), Location(i1 + 1, 1), Location(i2 + 1, 1)))
    return tuple(edits)
