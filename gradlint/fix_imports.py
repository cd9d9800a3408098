"""Add the imports a fix needs where isort (and ruff's ``I`` rules) would put them.

The import block at the top of the module is read as isort writes it: groups separated by
blank lines (future, standard library, third party, first party, local), each with the
``import x`` lines sorted by module, then the ``from x import y`` lines. A new import joins
the group of its kind at its sorted place, or starts that group between its neighbours; a
name from a module the block already imports from is added to that line.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass

import libcst as cst

from gradlint.rule import ImportSpec

_FUTURE, _STDLIB, _THIRD_PARTY, _LOCAL = 0, 1, 2, 4


@dataclass(slots=True)
class _Line:
    index: int  # position in module.body
    section: int
    straight: bool  # ``import x`` (True) or ``from x import y``
    key: str  # the module, lowercased, as isort compares
    starts_group: bool


def cst_dotted_name(node: cst.BaseExpression | None) -> str:
    """``a.b.c`` for a libcst chain of names (an import's module or alias); "" otherwise."""
    if node is None:
        return ""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{cst_dotted_name(node.value)}.{node.attr.value}"
    return ""


def _section(module: str, relative: bool) -> int:
    if relative:
        return _LOCAL
    top = module.split(".", 1)[0]
    if top == "__future__":
        return _FUTURE
    if top in sys.stdlib_module_names:
        return _STDLIB
    return _THIRD_PARTY


def _spec_section(spec: ImportSpec) -> int:
    return _section(spec.module, False)


def _block(module: cst.Module) -> list[_Line]:
    """The leading import lines of the module (after its docstring)."""
    lines: list[_Line] = []
    for index, statement in enumerate(module.body):
        if index == 0 and _is_docstring(statement):
            continue
        if not isinstance(statement, cst.SimpleStatementLine) or not all(
            isinstance(small, (cst.Import, cst.ImportFrom)) for small in statement.body
        ):
            break
        small = statement.body[0]
        starts_group = bool(statement.leading_lines) or not lines
        if isinstance(small, cst.Import):
            name = cst_dotted_name(small.names[0].name)
            lines.append(_Line(index, _section(name, False), True, name.lower(), starts_group))
        else:
            name = cst_dotted_name(small.module)
            relative = bool(small.relative)
            lines.append(_Line(index, _section(name, relative), False, name.lower(), starts_group))
    return lines


def _is_docstring(statement: cst.BaseStatement) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def _already_imported(module: cst.Module, spec: ImportSpec) -> bool:
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if spec.name is None and isinstance(small, cst.Import):
                if any(cst_dotted_name(alias.name) == spec.module and alias.asname is None for alias in small.names):
                    return True
            if spec.name is not None and isinstance(small, cst.ImportFrom) and not small.relative:
                if cst_dotted_name(small.module) == spec.module and not isinstance(small.names, cst.ImportStar):
                    if any(cst_dotted_name(alias.name) == spec.name and alias.asname is None for alias in small.names):
                        return True
    return False


def _statement(spec: ImportSpec, module: cst.Module) -> cst.SimpleStatementLine:
    text = f"import {spec.module}" if spec.name is None else f"from {spec.module} import {spec.name}"
    return cst.parse_statement(text + module.default_newline)  # type: ignore[return-value]


def _merge_into_from(module: cst.Module, lines: list[_Line], spec: ImportSpec) -> cst.Module | None:
    """``from m import a`` + ``b`` -> ``from m import a, b`` (single-line imports only)."""
    for line in lines:
        statement = module.body[line.index]
        small = statement.body[0]  # type: ignore[attr-defined]
        if (
            isinstance(small, cst.ImportFrom)
            and not small.relative
            and cst_dotted_name(small.module) == spec.module
            and not isinstance(small.names, cst.ImportStar)
            and small.lpar is None
            and len(statement.body) == 1  # type: ignore[attr-defined]
        ):
            names = [cst_dotted_name(alias.name) + (f" as {cst_dotted_name(alias.asname.name)}" if alias.asname else "") for alias in small.names]
            names.append(spec.name)  # type: ignore[arg-type]
            names.sort(key=lambda text: text.lower())
            replacement = cst.parse_statement(f"from {spec.module} import {', '.join(names)}{module.default_newline}")
            replacement = replacement.with_changes(leading_lines=statement.leading_lines)
            body = list(module.body)
            body[line.index] = replacement
            return module.with_changes(body=body)
    return None


def _insert(module: cst.Module, spec: ImportSpec) -> cst.Module:
    lines = _block(module)
    section = _spec_section(spec)
    if spec.name is not None:
        merged = _merge_into_from(module, lines, spec)
        if merged is not None:
            return merged
    new = _statement(spec, module)
    body = list(module.body)
    key = (not (spec.name is None), spec.module.lower())
    if not lines:
        # No import block: at the top, after the docstring, a blank line before the code.
        position = 1 if body and _is_docstring(body[0]) else 0
        if position < len(body):
            following = body[position]
            new = new.with_changes(leading_lines=following.leading_lines)  # type: ignore[union-attr]
            body[position] = following.with_changes(leading_lines=[cst.EmptyLine()])  # type: ignore[union-attr]
            if position == 1:
                new = new.with_changes(leading_lines=[cst.EmptyLine()])
        body.insert(position, new)
        return module.with_changes(body=body)
    groups: list[list[_Line]] = []
    for line in lines:
        if line.starts_group or not groups:
            groups.append([])
        groups[-1].append(line)
    # The group of the same kind (the first one, when third-party and first-party look alike).
    target = next((group for group in groups if group[0].section == section), None)
    if target is not None:
        for line in target:
            if (not line.straight, line.key) > key:
                return _place_before(module, body, line.index, new, line is target[0])
        return _place_after(module, body, target[-1].index, new)
    later = next((group for group in groups if group[0].section > section), None)
    if later is not None:
        # A new group before the first later one: it takes that group's blank line.
        first = body[later[0].index]
        new = new.with_changes(leading_lines=first.leading_lines)  # type: ignore[union-attr]
        body[later[0].index] = first.with_changes(leading_lines=[cst.EmptyLine()])  # type: ignore[union-attr]
        body.insert(later[0].index, new)
        return module.with_changes(body=body)
    # After the last group, as a group of its own.
    return _place_after(module, body, lines[-1].index, new.with_changes(leading_lines=[cst.EmptyLine()]))


def _place_before(
    module: cst.Module, body: list[cst.BaseStatement], index: int, new: cst.SimpleStatementLine, first: bool
) -> cst.Module:
    if first:
        # The group's blank line (and comments) move up to the new first line.
        old = body[index]
        new = new.with_changes(leading_lines=old.leading_lines)  # type: ignore[union-attr]
        body[index] = old.with_changes(leading_lines=[])  # type: ignore[union-attr]
    body.insert(index, new)
    return module.with_changes(body=body)


def _place_after(module: cst.Module, body: list[cst.BaseStatement], index: int, new: cst.SimpleStatementLine) -> cst.Module:
    body.insert(index + 1, new)
    return module.with_changes(body=body)


def add_imports(module: cst.Module, specs: Iterable[ImportSpec]) -> cst.Module:
    """``module`` with every import in ``specs`` it lacks, each where isort would put it."""
    added = False
    for spec in dict.fromkeys(specs):
        if not _already_imported(module, spec):
            module = _insert(module, spec)
            added = True
    return _space_after_block(module) if added else module


def _space_after_block(module: cst.Module) -> cst.Module:
    """Code right after the import block gets isort's blank lines (two before a def/class)."""
    lines = _block(module)
    if not lines:
        return module
    after = lines[-1].index + 1
    if after >= len(module.body):
        return module
    following = module.body[after]
    if any(isinstance(line, cst.EmptyLine) and line.comment is None for line in following.leading_lines):
        return module
    blanks = 2 if isinstance(following, (cst.FunctionDef, cst.ClassDef)) else 1
    body = list(module.body)
    body[after] = following.with_changes(leading_lines=[*([cst.EmptyLine()] * blanks), *following.leading_lines])
    return module.with_changes(body=body)
