"""Fixes that span files (GL004): planned in the main process after the per-file fixes.

A plan names one constant per duplicate group, adds it to the constants module (created if
missing) unless it comes from the runtime, replaces every place with the name and adds the
import. It is all-or-nothing: every new text must parse with libcst and compile, otherwise
nothing is written.

Writing is staged as a whole: every new or changed file (and a backup of every changed one)
is written to a temporary file next to it first, then the temporaries are renamed into place,
constants modules first, so that no importer is ever renamed in before the module it imports.
If a rename fails, the files already renamed are restored from their backups (new files are
removed) and nothing of the plan is left behind. A kill between two renames cannot be undone
this way; it leaves a prefix of the renames done, constants modules first.
"""

from __future__ import annotations

import ast
import os
from collections import defaultdict
from dataclasses import dataclass, field

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import MetadataWrapper, PositionProvider

from gradlint.config import Settings
from gradlint.discovery import display_path
from gradlint.rules._constant_groups import (
    Group,
    constants_module_path,
    duplicate_groups,
)
from gradlint.rules.gl004_duplicated_constant import DuplicatedConstant
from gradlint.source import (
    UndecodableSource,
    UnreadableSource,
    decode,
    discard,
    new_file_mode,
    read_source_bytes,
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
    groups = duplicate_groups(facts, settings)
    if not groups:
        return plan
    current = {r.path: r.fixed for r in results if r.fixed is not None}
    encodings = {r.path: r.encoding for r in results}
    # Constants to add, per constants-module file: name -> (literal, role).
    additions: dict[str, dict[str, tuple[str, str]]] = defaultdict(dict)
    edits: dict[str, list[tuple[Group, dict]]] = defaultdict(list)  # type: ignore[type-arg]
    for group in groups:
        if not group.runtime:
            root = group.project or os.path.abspath(settings.root)
            home = display_path(constants_module_path(group.module, root))
            existing = _read(home, plan)
            defined = _module_constants(existing) if existing is not None else {}
            name, value = group.constant, group.places[0].fact["t"]
            planned = additions[home]
            suffix = 2
            while (name in defined and defined[name] != float(group.value)) or (
                name in planned and planned[name][0] != value
            ):
                name = f"{group.constant}_{suffix}"
                suffix += 1
            group.constant = name
            if name not in defined:
                planned[name] = (value, group.role)
        for place in group.places:
            edits[place.path].append((group, place.fact))
    try:
        for path, items in sorted(edits.items()):
            text = current.get(path)
            if text is None:
                text = _read(path, plan)
            if text is None:
                raise _PlanError(f"{path}: cannot read the file to fix")
            plan.originals[path] = text
            plan.encodings[path] = encodings.get(path, "utf-8")
            plan.texts[path] = _rewrite(path, text, items)
            plan.fixed.update((path, fact["l"], fact["c"]) for _, fact in items)
        for home, constants in sorted(additions.items()):
            if not constants:
                continue
            existing = _read(home, plan)
            if existing is None:
                if os.path.lexists(home):
                    raise _PlanError(f"{home}: cannot read the constants module")
                if not os.path.isdir(os.path.dirname(home)):
                    raise _PlanError(f"{home}: the constants module's folder does not exist")
                plan.created.append(home)
                plan.originals[home] = ""
                text = CONSTANTS_DOCSTRING
            else:
                plan.originals[home] = existing
                text = existing if existing.endswith("\n") or not existing else existing + "\n"
            text += "\n" + "".join(f"{name} = {value}  # {role}\n" for name, (value, role) in constants.items())
            plan.texts[home] = text
            plan.homes.append(home)
            plan.encodings.setdefault(home, "utf-8")
        for path, text in plan.texts.items():
            cst.parse_module(text)
            compile(text, path, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except (_PlanError, cst.ParserSyntaxError, SyntaxError, ValueError) as error:
        plan.errors.append(f"GL004 project fix dropped (nothing written): {error}")
        _drop(plan)
    except Exception as error:  # noqa: BLE001 - e.g. RecursionError: the per-file fixes still apply
        plan.errors.append(
            f"GL004 project fix dropped (nothing written): {type(error).__name__}: {error}"
        )
        _drop(plan)
    return plan


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
                mode = os.stat(target).st_mode & 0o7777
                backup = stage(target, read_source_bytes(target), mode)
                staged.append((target, stage(target, data, mode), backup))
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
    plan.encodings.setdefault(path, source.encoding)
    return source.text


def _module_constants(text: str) -> dict[str, float]:
    """Module-level ``NAME = number`` bindings of a constants module."""
    found: dict[str, float] = {}
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return found
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            value = node.value
            sign = 1.0
            if isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.USub):
                sign, value = -1.0, value.operand
            for target in targets:
                if isinstance(target, ast.Name):
                    number = value.value if isinstance(value, ast.Constant) else None
                    found[target.id] = (
                        sign * float(number)
                        if isinstance(number, (int, float)) and not isinstance(number, bool)
                        else float("nan")
                    )
    return found


class _Rewriter(cst.CSTTransformer):
    def __init__(self, replacements: dict[int, cst.CSTNode | cst.RemovalSentinel]) -> None:
        super().__init__()
        self.replacements = replacements

    def on_leave(self, original_node, updated_node):  # type: ignore[no-untyped-def, override]
        return self.replacements.get(id(original_node), updated_node)


_LITERALS = (cst.Integer, cst.Float, cst.UnaryOperation)


def _rewrite(path: str, text: str, items: list[tuple[Group, dict]]) -> str:  # type: ignore[type-arg]
    """Replace the places of one file with constant names and add the imports."""
    module = cst.parse_module(text)
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    wanted = {(fact["l"], fact["c"], fact["el"], fact["ec"]): (group, fact) for group, fact in items}
    replacements: dict[int, cst.CSTNode | cst.RemovalSentinel] = {}
    found: set[tuple[int, int, int, int]] = set()
    statements: dict[int, cst.SimpleStatementLine] = {}
    for node, span in positions.items():
        if isinstance(node, cst.SimpleStatementLine):
            statements.setdefault(span.start.line, node)
    imports: list[tuple[str, str]] = []
    for node, span in positions.items():
        if not isinstance(node, _LITERALS):
            continue
        key = (span.start.line, span.start.column + 1, span.end.line, span.end.column + 1)
        if key not in wanted or key in found:
            continue
        group, fact = wanted[key]
        found.add(key)
        imports.append((group.module, group.constant))
        statement = statements.get(fact["s"])
        at_top = statement is not None and any(statement is top for top in module.body)
        if fact["k"] == "const" and fact.get("id") == group.constant and at_top:
            replacements[id(statement)] = cst.RemoveFromParent()  # the import binds the name
        else:
            replacements[id(node)] = cst.Name(group.constant)
    missing = set(wanted) - found
    if missing:
        raise _PlanError(f"{path}: cannot find the literal at line {min(missing)[0]}")
    fixed = module.visit(_Rewriter(replacements))
    context = CodemodContext()
    for module_name, name in dict.fromkeys(imports):
        AddImportsVisitor.add_needed_import(context, module_name, name)
    return AddImportsVisitor(context).transform_module(fixed).code
