"""Fixes that span files (GL004): planned in the main process after the per-file fixes.

A plan names one constant per duplicate group, adds it to the constants module (created if
missing) unless it comes from the runtime, replaces every place with the name and adds the
import. It is all-or-nothing: every new text must parse with libcst and compile, otherwise
nothing is written.

Writing is staged as a whole: every new or changed file (and a backup of every changed one)
is written to a temporary file next to it first (a file that already holds its new bytes is
left as it is), then the temporaries are renamed into place, constants modules first, so that
no importer is ever renamed in before the module it imports.
If a rename fails, the files already renamed are restored from their backups (new files are
removed) and nothing of the plan is left behind; so too on Ctrl-C. A kill between two renames
cannot be undone this way (that would take a journal): it leaves a prefix of the renames done,
constants modules first, and the remaining temporary files.
"""

from __future__ import annotations

import ast
import os
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import libcst as cst

from gradlint.config import Settings
from gradlint.discovery import display_path
from gradlint.fileinfo import describe_file
from gradlint.rules._constant_groups import Group, duplicate_groups, existing_names
from gradlint.rules.gl004_duplicated_constant import DuplicatedConstant
from gradlint.source import (
    UndecodableSource,
    UnreadableSource,
    decode,
    discard,
    holds,
    new_file_mode,
    read_source_bytes,
    refuse_read_only,
    stage,
)

CONSTANTS_DOCSTRING = (
    '"""The single home of this project\'s tuning constants (penalties, thresholds,\n'
    "coefficients, epsilons).\n\n"
    "Import these names instead of repeating the literals: gradlint's GL004 reports a value\n"
    'written out in several places, and its fix moves it here."""\n'
)


@dataclass(slots=True)
class ProjectFixPlan:
    """New texts by path (``created`` lists files that do not exist yet)."""

    texts: dict[str, str] = field(default_factory=dict)
    originals: dict[str, str] = field(default_factory=dict)
    encodings: dict[str, str] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)
    # The constants modules the plan adds to (created or existing): renamed in first.
    homes: list[str] = field(default_factory=list)
    fixed: set[tuple[str, int, int]] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)


def plan_project_fixes(run: object, settings: Settings, unsafe: bool) -> ProjectFixPlan:
    """Plan the GL004 fix for a finished run (facts are those of the already fixed texts)."""
    plan = ProjectFixPlan()
    if not unsafe or DuplicatedConstant.code not in settings.enabled_codes:
        return plan
    results = getattr(run, "results", [])
    facts = {r.path: r.facts[DuplicatedConstant.code] for r in results if r.facts.get(DuplicatedConstant.code)}
    groups = [group for group in duplicate_groups(facts, settings) if group.constant]
    if not groups:
        return plan
    from gradlint.rules import _constant_edits as edits

    current = {r.path: r.fixed for r in results if r.fixed is not None}
    encodings = {r.path: r.encoding for r in results}
    known = {os.path.abspath(r.path): r.path for r in results}

    def text_of(path: str) -> str | None:
        text = current.get(path)
        return text if text is not None else _read(path, plan)

    try:
        groups = _without_clashes(groups, text_of, plan)
        # Per file: places (fact, name, remove the statement), imports, local definitions.
        places: dict[str, list[tuple[dict, str, bool]]] = defaultdict(list)  # type: ignore[type-arg]
        imports: dict[str, list[tuple[str, str]]] = defaultdict(list)
        definitions: dict[str, dict[str, str]] = defaultdict(dict)
        additions: dict[str, dict[str, str]] = defaultdict(dict)  # constants module -> name -> line
        own_modules = {group.module for group in groups if group.module and not group.runtime}
        for group in groups:
            spelling = _spelling(group)
            line = f"{group.constant} = {spelling}  # {group.role}\n"
            defined = existing_names(group.home) if group.home else {}
            if group.local and not group.named:
                definitions[known.get(group.home, group.places[0].path)].setdefault(group.constant, line)
            elif not group.local and not group.named and not group.runtime and group.constant not in defined:
                additions[group.home].setdefault(group.constant, line)
            for place in group.places:
                fact = place.fact
                remove = fact["k"] == "const" and fact.get("id") == group.constant and not group.local
                places[place.path].append((fact, group.constant, remove))
                if not group.local:
                    imports[place.path].append((group.module, group.constant))
        for path, items in sorted(places.items()):
            text = text_of(path)
            if text is None:
                raise _PlanError(f"{path}: cannot read the file to fix")
            local = list(definitions.get(path, {}).values())
            if local:
                first = edits.first_statement_after_header(text)
                if first and min(fact["s"] for fact, _, _ in items) < first:
                    raise _PlanError(f"{path}: a place comes before the module's first statement")
            plan.originals[path] = text
            plan.encodings[path] = encodings.get(path, "utf-8")
            # First party: the file's package and the constants modules it imports (a module
            # at the project root included); the runtime is a third-party dependency.
            first_party = {describe_file(path).package, *(m.split(".")[0] for m in own_modules)}
            first_party.discard(None)
            plan.texts[path] = edits.rewrite(
                path, text, items, imports.get(path, []), local, frozenset(first_party)  # type: ignore[arg-type]
            )
            plan.fixed.update((path, fact["l"], fact["c"]) for fact, _, _ in items)
        for home, lines in sorted(additions.items()):
            path = known.get(home, display_path(home))
            existing = _read(path, plan)
            if existing is None:
                if os.path.lexists(path):
                    raise _PlanError(f"{path}: cannot read the constants module")
                if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
                    raise _PlanError(f"{path}: the constants module's folder does not exist")
                plan.created.append(path)
                plan.originals[path] = ""
                text = CONSTANTS_DOCSTRING
            else:
                plan.originals[path] = existing
                text = existing if existing.endswith("\n") or not existing else existing + "\n"
            text += "\n" + "".join(lines.values())
            plan.texts[path] = text
            plan.homes.append(path)
            plan.encodings.setdefault(path, "utf-8")
        for path, text in plan.texts.items():
            cst.parse_module(text)
            compile(text, path, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except (_PlanError, edits.EditError, cst.ParserSyntaxError, SyntaxError, ValueError) as error:
        plan.errors.append(f"GL004 project fix dropped (nothing written): {error}")
        _drop(plan)
    except Exception as error:  # noqa: BLE001 - e.g. RecursionError: the per-file fixes still apply
        plan.errors.append(
            f"GL004 project fix dropped (nothing written): {type(error).__name__}: {error}"
        )
        _drop(plan)
    return plan


def _spelling(group: Group) -> str:
    """The literal as most places write it (``1e-3`` or ``0.001``: the same value and type)."""
    spellings = Counter(place.fact["t"] for place in group.places)
    return sorted(spellings.items(), key=lambda item: (-item[1], item[0]))[0][0]


def _without_clashes(groups: list[Group], text_of, plan: ProjectFixPlan) -> list[Group]:  # type: ignore[no-untyped-def]
    """Drop (with a warning) a group whose name is already used in a file it would edit for
    something else: importing or defining it there would change what the name means."""
    kept = []
    for group in groups:
        if group.named and group.local:
            kept.append(group)
            continue
        pattern = re.compile(rf"\b{re.escape(group.constant)}\b")
        clash = None
        for path in sorted({place.path for place in group.places}):
            if any(p.fact["k"] == "const" and p.fact.get("id") == group.constant for p in group.places if p.path == path):
                continue  # the constant itself, re-declared here
            text = text_of(path)
            if text is None:
                continue
            for match in pattern.finditer(text):
                line = text[text.rfind("\n", 0, match.start()) + 1:text.find("\n", match.end())]
                if not (group.module and re.search(rf"^\s*from\s+{re.escape(group.module)}\s+import\b", line)):
                    clash = path
                    break
            if clash:
                break
        if clash:
            plan.errors.append(f"GL004: `{group.constant}` not applied: the name is already used in {clash}")
        else:
            kept.append(group)
    return kept


def _drop(plan: ProjectFixPlan) -> None:
    plan.texts.clear()
    plan.created.clear()
    plan.homes.clear()
    plan.fixed.clear()


class PlanWriteError(Exception):
    """The plan could not be written; what was renamed into place has been rolled back."""


def write_plan(plan: ProjectFixPlan) -> None:
    """Write a plan's files as a whole (see the module docstring), or raise PlanWriteError."""
    order = [p for p in plan.homes if p in plan.texts]
    order += sorted(p for p in plan.texts if p not in order)
    staged: list[tuple[str, str, str | None]] = []  # (target, temporary, backup or None if new)
    try:
        try:
            for path in order:
                data = plan.texts[path].encode(plan.encodings.get(path, "utf-8"))
                target = os.path.realpath(path)
                if path in plan.created:
                    if os.path.lexists(target):
                        raise PlanWriteError(f"{path}: appeared while fixing; not overwritten")
                    staged.append((target, stage(target, data, new_file_mode()), None))
                    continue
                info = os.stat(target)
                if holds(target, data, info):
                    continue  # already these bytes: not rewritten, its mtime stays
                refuse_read_only(target, info)
                mode = info.st_mode & 0o7777
                backup = stage(target, read_source_bytes(target), mode)
                try:
                    temporary = stage(target, data, mode)
                except BaseException:
                    discard(backup)  # not yet in ``staged``: the finally below would miss it
                    raise
                staged.append((target, temporary, backup))
        except (OSError, UnreadableSource) as error:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else error
            raise PlanWriteError(f"{path}: cannot stage the fix: {reason}") from None
        done: list[tuple[str, str, str | None]] = []
        for item in staged:
            target, temporary, _ = item
            try:
                os.replace(temporary, target)
            except OSError as error:
                problems = _roll_back(done)
                note = "; rolled back" if not problems else "; rollback failed: " + "; ".join(problems)
                raise PlanWriteError(f"{display_path(target)}: cannot write: {error.strerror or error}{note}") from None
            except BaseException:
                _roll_back(done)  # Ctrl-C between two renames: undone too, then interrupted
                raise
            done.append(item)
    finally:
        for _, temporary, backup in staged:
            discard(temporary)
            if backup is not None:
                discard(backup)


def _roll_back(done: list[tuple[str, str, str | None]]) -> list[str]:
    """Undo renames, newest first: restore backups, remove new files; the problems met."""
    problems = []
    for target, _, backup in reversed(done):
        try:
            if backup is None:
                os.unlink(target)
            else:
                os.replace(backup, target)
        except OSError as error:
            problems.append(f"{display_path(target)}: {error.strerror or error}")
    return problems


class _PlanError(Exception):
    pass


def _read(path: str, plan: ProjectFixPlan) -> str | None:
    if path in plan.texts:
        return plan.texts[path]
    try:
        source = decode(read_source_bytes(path))
    except (UnreadableSource, UndecodableSource):
        return None
    if source.lossy:
        return None  # invalid bytes decoded as U+FFFD must never be written back
    plan.encodings.setdefault(path, source.encoding)
    return source.text
