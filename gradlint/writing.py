"""Writing ``--fix`` results: one file at a time, and a failed write never stops the others.

Each file is replaced atomically (``source.write_atomically``); the project-wide GL004 fix is
written as a whole (``project_fixes.write_plan``). A file whose write fails keeps its original
bytes, is reported with the reason, and its findings are those of the original text again.
If the project-wide fix cannot be written it is rolled back, and the per-file fixes of its
files are written on their own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gradlint.source import write_atomically

if TYPE_CHECKING:
    from gradlint.config import Settings
    from gradlint.findings import FileResult, Finding
    from gradlint.project_fixes import ProjectFixPlan
    from gradlint.runner import RunOptions, RunResult


@dataclass(slots=True)
class WriteOutcome:
    errors: list[str] = field(default_factory=list)
    # Fixes counted as applied that were not written after all.
    unwritten: int = 0


def write_fixes(
    run: RunResult,
    plan: ProjectFixPlan | None,
    settings_for: Callable[[str], Settings],
    options: RunOptions,
    unfiltered: list[Finding],
) -> WriteOutcome:
    """Write every changed file; ``run.findings`` is corrected for what could not be written.

    ``settings_for`` gives a file's settings (to check an unwritten file's original text
    again); ``unfiltered`` is the list of findings before the project plan's fixed places
    were removed from it (they come back if the plan is not written).
    """
    outcome = WriteOutcome()
    changed = {result.path: result for result in run.results if result.fixed is not None}
    in_plan = set(plan.texts) if plan is not None else set()
    failed: list[str] = []
    if plan is not None and plan.texts:
        from gradlint.project_fixes import PlanWriteError, write_plan

        try:
            write_plan(plan)
        except PlanWriteError as error:
            outcome.errors.append(f"GL004 project fix not written: {error}")
            outcome.unwritten += len(plan.fixed)
            fixed_places = plan.fixed
            run.findings.extend(
                f for f in unfiltered if (f.path, f.location.row, f.location.column) in fixed_places
            )
            in_plan = set()
    for path, result in changed.items():
        if path in in_plan:
            continue
        try:
            write_atomically(path, (result.fixed or "").encode(result.encoding))
        except (OSError, UnicodeEncodeError) as error:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
            outcome.errors.append(f"{path}: cannot write the fixes ({reason}); the file is unchanged")
            outcome.unwritten += result.fixed_count
            failed.append(path)
    if failed:
        _report_originals(run, failed, changed, settings_for, options)
    run.findings.sort(key=lambda finding: finding.sort_key)
    return outcome


def _report_originals(
    run: RunResult,
    paths: list[str],
    changed: dict[str, FileResult],
    settings_for: Callable[[str], Settings],
    options: RunOptions,
) -> None:
    """Replace the per-file findings of unwritten files with those of their original text."""
    from gradlint.registry import rule_metas
    from gradlint.runner import check_bytes

    lost = set(paths)
    project_codes = {meta.code for meta in rule_metas() if meta.reducer is not None}
    kept = [f for f in run.findings if f.path not in lost or f.code in project_codes]
    for path in paths:
        result = changed[path]
        data = (result.original or "").encode(result.encoding)
        again = check_bytes(data, path, settings_for(path), options)
        kept.extend(again.findings)
    run.findings = kept
