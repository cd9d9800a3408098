"""GL004's fix edits with libcst (imported only when a fix is planned): replace literals by
names, remove re-declared constants, add an import where isort/ruff would put it, and
define a module-level constant after a module's imports.
"""

from __future__ import annotations

import sys

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from gradlint.fix_imports import cst_dotted_name as _dotted

_LITERALS = (cst.Integer, cst.Float, cst.UnaryOperation)
_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ()))

LINE_LENGTH = 88  # ruff's and black's default: longer merged imports are wrapped
# isort/ruff sections, in order.
FUTURE, STDLIB, THIRD_PARTY, FIRST_PARTY, LOCAL = range(5)


class EditError(Exception):
    pass


class _Rewriter(cst.CSTTransformer):
    def __init__(self, replacements: dict[int, cst.CSTNode | cst.RemovalSentinel]) -> None:
        super().__init__()
        self.replacements = replacements

    def on_leave(self, original_node, updated_node):  # type: ignore[no-untyped-def, override]
        return self.replacements.get(id(original_node), updated_node)


def section_of(module: str, level: int, package: str | frozenset[str] | None) -> int:
    """The isort section of an import; ``package`` names the first-party top-level modules."""
    if level:
        return LOCAL
    top = module.split(".")[0]
    if top == "__future__":
        return FUTURE
    first_party = {package} if isinstance(package, str) else set(package or ())
    if top in first_party:
        return FIRST_PARTY
    if top in _STDLIB:
        return STDLIB
    return THIRD_PARTY


def _import_key(statement: cst.CSTNode, package: str | frozenset[str] | None) -> tuple[int, int, str] | None:
    """(section, 0 for ``import x`` / 1 for ``from x import``, module) of an import line."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    small = statement.body[0]
    if isinstance(small, cst.Import):
        name = _dotted(small.names[0].name)  # type: ignore[arg-type]
        return section_of(name, 0, package), 0, name.lower()
    if isinstance(small, cst.ImportFrom):
        level = len(small.relative)
        name = _dotted(small.module)
        return section_of(name, level, package), 1, ("." * level + name).lower()
    return None


def _header_end(body: list[cst.CSTNode] | tuple[cst.CSTNode, ...]) -> int:
    """Index after the module docstring and the leading run of import lines."""
    index = 0
    if body and isinstance(body[0], cst.SimpleStatementLine) and isinstance(body[0].body[0], cst.Expr):
        if isinstance(body[0].body[0].value, (cst.SimpleString, cst.ConcatenatedString)):
            index = 1
    while index < len(body):
        statement = body[index]
        if not (
            isinstance(statement, cst.SimpleStatementLine)
            and all(isinstance(small, (cst.Import, cst.ImportFrom)) for small in statement.body)
        ):
            break
        index += 1
    return index


def _merge(small: cst.ImportFrom, name: str) -> cst.ImportFrom | None:
    """``from x import a, b`` with ``name`` added (sorted when the names were); ``None`` when
    it is already there or the import is a star."""
    if isinstance(small.names, cst.ImportStar):
        return None
    names = list(small.names)
    present = [alias.name.value for alias in names if isinstance(alias.name, cst.Name)]
    if any(alias.asname is None and alias.name.value == name for alias in names if isinstance(alias.name, cst.Name)):
        return None
    separator = names[0].comma if len(names) > 1 and isinstance(names[0].comma, cst.Comma) else cst.Comma(
        whitespace_after=cst.SimpleWhitespace(" ")
    )
    position = len(names)
    if present == sorted(present) and len(present) == len(names):
        position = sum(1 for existing in present if existing < name)
    if position == len(names):
        last = names[-1]
        names[-1] = last.with_changes(comma=separator)
        names.append(cst.ImportAlias(name=cst.Name(name), comma=last.comma))
    else:
        names.insert(position, cst.ImportAlias(name=cst.Name(name), comma=separator))
    return small.with_changes(names=names)


def add_import(module: cst.Module, dotted: str, name: str, package: str | frozenset[str] | None) -> cst.Module:
    """``from dotted import name``: merged into an existing import of ``dotted``, else a new
    line at its isort place (its section, ``from`` lines after ``import`` lines, sorted)."""
    body = list(module.body)
    end = _header_end(body)
    for index, statement in enumerate(body[:end]):
        small = statement.body[0] if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1 else None
        if isinstance(small, cst.ImportFrom) and not small.relative and _dotted(small.module) == dotted:
            merged = _merge(small, name)
            if merged is None:
                return module
            line = statement.with_changes(body=[merged])  # type: ignore[union-attr]
            code = module.code_for_node(line.with_changes(leading_lines=[]))
            if "\n" not in code.rstrip("\n") and len(code.rstrip("\n")) > LINE_LENGTH:
                names = ",\n".join(f"    {module.code_for_node(alias.with_changes(comma=cst.MaybeSentinel.DEFAULT))}" for alias in merged.names)  # type: ignore[union-attr]
                wrapped = cst.parse_statement(f"from {dotted} import (\n{names},\n)\n")
                line = line.with_changes(body=wrapped.body)  # type: ignore[attr-defined]
            body[index] = line
            return module.with_changes(body=body)
    key = (section_of(dotted, 0, package), 1, dotted.lower())
    imports = [(i, k) for i, k in ((i, _import_key(body[i], package)) for i in range(end)) if k is not None]
    position = next((i for i, k in imports if k > key), None)
    if position is None:
        position = imports[-1][0] + 1 if imports else end
    previous = _import_key(body[position - 1], package) if position > 0 else None
    new = cst.parse_statement(f"from {dotted} import {name}\n")
    if position > 0 and (previous is None or previous[0] != key[0]):
        new = new.with_changes(leading_lines=[cst.EmptyLine()])
    if position < len(body):
        following = body[position]
        following_key = _import_key(following, package) if position < end else None
        if following_key is not None and following_key[0] == key[0] and following.leading_lines:  # type: ignore[union-attr]
            # First of its section: take over the section break above ``following``.
            new = new.with_changes(leading_lines=following.leading_lines)  # type: ignore[union-attr]
            body[position] = following.with_changes(leading_lines=[])
        elif (following_key is None or following_key[0] != key[0]) and not following.leading_lines:  # type: ignore[union-attr]
            body[position] = following.with_changes(leading_lines=[cst.EmptyLine()])
    body.insert(position, new)
    return module.with_changes(body=body)


def add_definitions(module: cst.Module, lines: list[str]) -> cst.Module:
    """Module-level ``NAME = literal  # role`` lines after the docstring and imports."""
    body = list(module.body)
    end = _header_end(body)
    statements = [cst.parse_statement(line) for line in lines]
    if end > 0:
        statements[0] = statements[0].with_changes(leading_lines=[cst.EmptyLine()])
    if end < len(body):
        following = body[end]
        if not following.leading_lines:  # type: ignore[union-attr]
            body[end] = following.with_changes(leading_lines=[cst.EmptyLine()])
    body[end:end] = statements
    return module.with_changes(body=body)


def first_statement_after_header(text: str) -> int:
    """1-based line of the first statement after the docstring and imports (0 if none)."""
    module = cst.parse_module(text)
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    positions = wrapper.resolve(PositionProvider)
    end = _header_end(module.body)
    if end >= len(module.body):
        return 0
    return positions[module.body[end]].start.line


def rewrite(
    path: str,
    text: str,
    places: list[tuple[dict, str, bool]],  # type: ignore[type-arg]
    imports: list[tuple[str, str]],
    definitions: list[str],
    first_party: frozenset[str],
) -> str:
    """Replace each place (fact, name, remove_statement) and add imports and definitions."""
    module = cst.parse_module(text)
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    wanted = {(f["l"], f["c"], f["el"], f["ec"]): (f, name, remove) for f, name, remove in places}
    statements: dict[int, cst.SimpleStatementLine] = {}
    for node, span in positions.items():
        if isinstance(node, cst.SimpleStatementLine):
            statements.setdefault(span.start.line, node)
    replacements: dict[int, cst.CSTNode | cst.RemovalSentinel] = {}
    found: set[tuple[int, int, int, int]] = set()
    for node, span in positions.items():
        if not isinstance(node, _LITERALS):
            continue
        key = (span.start.line, span.start.column + 1, span.end.line, span.end.column + 1)
        if key not in wanted or key in found:
            continue
        fact, name, remove = wanted[key]
        found.add(key)
        statement = statements.get(fact["s"])
        if remove and statement is not None and any(statement is top for top in module.body):
            replacements[id(statement)] = cst.RemoveFromParent()  # the import binds the name
        else:
            replacements[id(node)] = cst.Name(name)
    missing = set(wanted) - found
    if missing:
        raise EditError(f"{path}: cannot find the literal at line {min(missing)[0]}")
    fixed = module.visit(_Rewriter(replacements))
    if definitions:
        fixed = add_definitions(fixed, definitions)
    for dotted, name in dict.fromkeys(imports):
        fixed = add_import(fixed, dotted, name, first_party)
    return fixed.code
