"""The one walk of a file: builds the semantic model and runs every rule's visitors on the way.

Each node is visited once. Before a node's children are walked, the rules' ``visit_<Node>``
methods run with the model current at that node; after them, ``leave_<Node>``. The walk knows
the evaluation order Python uses (a default is evaluated in the enclosing scope, an
assignment's value before its targets, the first iterator of a comprehension outside it), so
that a name resolves to the binding visible where it is read.
"""

from __future__ import annotations

import ast
import contextlib
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from gradlint.semantic import guards as guard_rules
from gradlint.semantic.model import Binding, Scope, SemanticModel
from gradlint.semantic.syntax import CHILD_FIELDS as _CHILD_FIELDS, child_fields as _child_fields

Visitor = Callable[[Any], None]
_BLOCK_FIELDS = ("body", "orelse", "finalbody")
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)
# Deep but valid code (hundreds of nested brackets or ``elif``s) must not end the analysis:
# Python 3.11 calls between Python functions do not use the C stack, so a high limit is safe.
RECURSION_LIMIT = 20_000


def _singleton_classes() -> frozenset[type]:
    """Context and operator nodes (``Load``, ``Add``...): shared instances, nothing to visit."""
    found: set[type] = set()
    for base in (ast.expr_context, ast.operator, ast.boolop, ast.unaryop, ast.cmpop):
        found.update(_concrete_classes(base))
    return frozenset(found)


class DispatchTable:
    """For each ast node class, the rule methods to call on entry and on exit (built once)."""

    def __init__(self, rules: Iterable[object]) -> None:
        self.enter: dict[type, list[Visitor]] = {}
        self.exit: dict[type, list[Visitor]] = {}
        for rule in rules:
            for name in dir(type(rule)):
                prefix, _, node_name = name.partition("_")
                if prefix not in ("visit", "leave") or not node_name:
                    continue
                node_class = getattr(ast, node_name, None)
                if not (isinstance(node_class, type) and issubclass(node_class, ast.AST)):
                    continue
                table = self.enter if prefix == "visit" else self.exit
                for concrete in _concrete_classes(node_class):
                    table.setdefault(concrete, []).append(getattr(rule, name))


def _concrete_classes(node_class: type) -> list[type]:
    """``visit_expr`` applies to every expression class; ``visit_Call`` to ``Call`` only."""
    found = [node_class]
    stack = list(node_class.__subclasses__())
    while stack:
        child = stack.pop()
        found.append(child)
        stack.extend(child.__subclasses__())
    return found


@contextlib.contextmanager
def recursion_headroom() -> Iterator[None]:
    """Room for deep but valid code, in the walk and in the rules' deferred analysis."""
    previous = sys.getrecursionlimit()
    if previous < RECURSION_LIMIT:
        sys.setrecursionlimit(RECURSION_LIMIT)
    try:
        yield
    finally:
        if previous < RECURSION_LIMIT:
            sys.setrecursionlimit(previous)


def analyse(model: SemanticModel, table: DispatchTable) -> None:
    """Walk ``model.tree`` once, building the model and dispatching the rules' visitors."""
    walk = _Walk(model, table)
    try:
        with recursion_headroom():
            walk.module(model.tree)
    finally:
        # Its handlers are bound methods of the walk itself: drop that cycle now, or the
        # walk (and through the model, the whole tree) lives until the cyclic collector runs.
        walk.special.clear()


class _Walk:
    __slots__ = ("model", "enter", "exit", "prebound", "special")

    def __init__(self, model: SemanticModel, table: DispatchTable) -> None:
        self.model = model
        self.enter = table.enter
        self.exit = table.exit
        self.prebound: set[int] = set()
        self.special: dict[type, Callable[[Any], None]] = {
            ast.FunctionDef: self.function_def,
            ast.AsyncFunctionDef: self.function_def,
            ast.Lambda: self.lambda_,
            ast.ClassDef: self.class_def,
            ast.ListComp: self.comprehension,
            ast.SetComp: self.comprehension,
            ast.GeneratorExp: self.comprehension,
            ast.DictComp: self.comprehension,
            ast.Assign: self.assign,
            ast.AugAssign: self.aug_assign,
            ast.AnnAssign: self.ann_assign,
            ast.For: self.for_,
            ast.AsyncFor: self.for_,
            ast.While: self.while_,
            ast.If: self.if_,
            ast.Try: self.try_,
            ast.IfExp: self.if_exp,
            ast.BoolOp: self.bool_op,
            ast.Assert: self.assert_,
            ast.With: self.with_,
            ast.AsyncWith: self.with_,
            ast.Import: self.import_,
            ast.ImportFrom: self.import_,
            ast.Global: self.global_,
            ast.Nonlocal: self.global_,
            ast.NamedExpr: self.named_expr,
            ast.Return: self.return_,
            ast.Name: self.name,
            ast.MatchAs: self.match_capture,
            ast.MatchStar: self.match_capture,
            ast.MatchMapping: self.match_capture,
            ast.Constant: _no_children,
        }
        try_star = getattr(ast, "TryStar", None)
        if try_star is not None:
            self.special[try_star] = self.try_

    # -- the generic step ----------------------------------------------------------------

    def visit(self, node: ast.AST, parent: ast.AST | None) -> None:
        kind = type(node)
        if kind in _SINGLETONS:
            return
        model = self.model
        model.parents[node] = parent
        is_statement = isinstance(node, ast.stmt)
        if is_statement:
            model.statements.append(node)  # type: ignore[arg-type]
        visitors = self.enter.get(kind)
        if visitors:
            for visitor in visitors:
                visitor(node)
        handler = self.special.get(kind)
        if handler is not None:
            handler(node)
        else:
            fields = _CHILD_FIELDS.get(kind)
            if fields is None:
                fields = _CHILD_FIELDS[kind] = _child_fields(kind)
            for field_name in fields:
                value = getattr(node, field_name, None)
                if value is None:
                    continue
                if type(value) is list:
                    for item in value:
                        if isinstance(item, ast.AST):
                            self.visit(item, node)
                elif isinstance(value, ast.AST):
                    self.visit(value, node)
        leavers = self.exit.get(kind)
        if leavers:
            for leaver in leavers:
                leaver(node)
        if is_statement:
            model.statements.pop()

    def visit_all(self, nodes: Iterable[ast.AST | None], parent: ast.AST) -> None:
        for node in nodes:
            if node is not None:
                self.visit(node, parent)

    def block(self, body: Sequence[ast.stmt], parent: ast.AST, guards: tuple[guard_rules.Guard, ...] = ()) -> None:
        """A statement list: its own block guards (``if not hasattr(...): return`` holds below)."""
        model = self.model
        if guards:
            model.guard_stack.extend(guards)
        model.block_guards.append([])
        try:
            for statement in body:
                self.visit(statement, parent)
        finally:
            model.block_guards.pop()
            if guards:
                del model.guard_stack[-len(guards) :]

    # -- scopes --------------------------------------------------------------------------

    def module(self, tree: ast.Module) -> None:
        model = self.model
        for statement in _module_level(tree.body):
            if isinstance(statement, (ast.Import, ast.ImportFrom)):
                self.bind_import(statement, model.module_scope)
                self.prebound.add(id(statement))
        visitors = self.enter.get(ast.Module)
        for visitor in visitors or ():
            visitor(tree)
        self.block(tree.body, tree)
        for leaver in self.exit.get(ast.Module) or ():
            leaver(tree)

    def push_scope(self, kind: str, node: ast.AST) -> Scope:
        scope = Scope(kind, node, self.model.scope)
        self.model.scopes.append(scope)
        self.model.scope = scope
        return scope

    def pop_scope(self) -> None:
        model = self.model
        model.scopes.pop()
        model.scope = model.scopes[-1]

    def bind(self, name: str, kind: str, node: ast.AST, scope: Scope | None = None, **extra: Any) -> Binding:
        target_scope = scope or self.model.scope
        if scope is None and name in target_scope.globals:
            target_scope = self.model.module_scope
        binding = Binding(name, kind, node, target_scope.kind, **extra)
        target_scope.add(binding)
        return binding

    def arguments(self, args: ast.arguments, owner: ast.AST) -> None:
        """Defaults and annotations in the enclosing scope (before the new scope is pushed)."""
        self.model.parents[args] = owner
        self.visit_all(args.defaults, args)
        self.visit_all(args.kw_defaults, args)
        for arg in _all_args(args):
            self.model.parents[arg] = args
            if arg.annotation is not None:
                self.visit(arg.annotation, arg)

    def bind_parameters(self, args: ast.arguments) -> None:
        positional = [*args.posonlyargs, *args.args]
        defaults: dict[int, ast.expr] = {}
        offset = len(positional) - len(args.defaults)
        for index, default in enumerate(args.defaults):
            defaults[id(positional[offset + index])] = default
        for arg, default in zip(args.kwonlyargs, args.kw_defaults):
            if default is not None:
                defaults[id(arg)] = default
        for arg in _all_args(args):
            self.bind(arg.arg, "param", arg, annotation=arg.annotation, default=defaults.get(id(arg)))
            for visitor in self.enter.get(ast.arg) or ():
                visitor(arg)
            for leaver in self.exit.get(ast.arg) or ():
                leaver(arg)

    def function_def(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        model = self.model
        self.visit_all(node.decorator_list, node)
        self.arguments(node.args, node)
        if node.returns is not None:
            self.visit(node.returns, node)
        self.bind(node.name, "function", node)
        self.push_scope("function", node)
        model.functions.append(node)
        model.barriers.append(len(model.guard_stack))
        saved_blocks = model.block_guards
        model.block_guards = [[]]
        try:
            self.bind_parameters(node.args)
            self.block(node.body, node, guard_rules.decorator_guards(node.decorator_list))
        finally:
            model.block_guards = saved_blocks
            model.barriers.pop()
            model.functions.pop()
            self.pop_scope()
        if node.args.args and _mentions_version_name(node.name):
            model.version_functions.setdefault(node.name, "compare")

    def lambda_(self, node: ast.Lambda) -> None:
        model = self.model
        self.arguments(node.args, node)
        self.push_scope("lambda", node)
        model.functions.append(node)
        model.barriers.append(len(model.guard_stack))
        try:
            self.bind_parameters(node.args)
            self.visit(node.body, node)
        finally:
            model.barriers.pop()
            model.functions.pop()
            self.pop_scope()

    def class_def(self, node: ast.ClassDef) -> None:
        model = self.model
        self.visit_all(node.decorator_list, node)
        self.visit_all(node.bases, node)
        self.visit_all(node.keywords, node)
        self.push_scope("class", node)
        model.classes.append(node)
        try:
            self.block(node.body, node)
        finally:
            model.classes.pop()
            self.pop_scope()
        self.bind(node.name, "class", node)

    def comprehension(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp) -> None:
        generators = node.generators
        first = generators[0]
        self.model.parents[first] = node
        self.visit(first.iter, first)
        self.push_scope("comprehension", node)
        try:
            for index, generator in enumerate(generators):
                self.model.parents[generator] = node
                for visitor in self.enter.get(ast.comprehension) or ():
                    visitor(generator)
                if index:
                    self.visit(generator.iter, generator)
                self.bind_target(generator.target, "comprehension", generator, source=generator.iter)
                self.visit(generator.target, generator)
                self.visit_all(generator.ifs, generator)
                for leaver in self.exit.get(ast.comprehension) or ():
                    leaver(generator)
            if isinstance(node, ast.DictComp):
                self.visit(node.key, node)
                self.visit(node.value, node)
            else:
                self.visit(node.elt, node)
        finally:
            self.pop_scope()

    # -- statements that bind --------------------------------------------------------------

    def bind_target(
        self,
        target: ast.AST,
        kind: str,
        node: ast.AST,
        *,
        value: ast.expr | None = None,
        source: ast.expr | None = None,
        path: tuple[int, ...] = (),
        annotation: ast.expr | None = None,
    ) -> None:
        if isinstance(target, ast.Name):
            self.bind(target.id, kind, node, value=value, source=source, path=path, annotation=annotation)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for index, element in enumerate(target.elts):
                self.bind_target(element, kind, node, value=value, source=source, path=(*path, index))
        elif isinstance(target, ast.Starred):
            self.bind_target(target.value, kind, node, value=None, source=None, path=path)
        elif isinstance(target, ast.Attribute) and value is not None and not path:
            self.record_self_attribute(target, value)

    def record_self_attribute(self, target: ast.Attribute, value: ast.expr) -> None:
        """``self.x = value`` in a method: what the class's instances hold under ``x``."""
        if not (isinstance(target.value, ast.Name) and target.value.id == "self"):
            return
        scope = self.model.scope
        while scope.kind in ("comprehension", "lambda") and scope.parent is not None:
            scope = scope.parent
        if scope.kind != "function" or scope.parent is None or scope.parent.kind != "class":
            return
        owner = scope.parent.node
        self.model.attributes.setdefault(id(owner), {}).setdefault(target.attr, []).append(value)

    def assign(self, node: ast.Assign) -> None:
        model = self.model
        self.visit(node.value, node)
        for target in node.targets:
            self.bind_target(target, "assign", node, value=node.value)
            self.visit(target, node)
        if len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            found = guard_rules.guards_of(model, node.value)
            if found != guard_rules.NO_GUARDS:
                model.guard_names[name] = found
            direction = guard_rules.version_direction(model, node.value)
            if direction is not None:
                model.version_flags[name] = direction

    def aug_assign(self, node: ast.AugAssign) -> None:
        self.visit(node.value, node)
        target = node.target
        if isinstance(target, ast.Name):
            self.model.name_bindings[target] = self.model.lookup(target.id)
        self.visit(target, node)
        if isinstance(target, ast.Name):
            self.bind(target.id, "augassign", node, value=node.value)

    def ann_assign(self, node: ast.AnnAssign) -> None:
        self.visit(node.annotation, node)
        if node.value is not None:
            self.visit(node.value, node)
            self.bind_target(node.target, "assign", node, value=node.value, annotation=node.annotation)
        self.visit(node.target, node)

    def for_(self, node: ast.For | ast.AsyncFor) -> None:
        self.visit(node.iter, node)
        self.bind_target(node.target, "for", node, source=node.iter)
        self.visit(node.target, node)
        self.block(node.body, node)
        self.block(node.orelse, node)

    def while_(self, node: ast.While) -> None:
        self.visit(node.test, node)
        self.block(node.body, node)
        self.block(node.orelse, node)

    def with_(self, node: ast.With | ast.AsyncWith) -> None:
        for item in node.items:
            self.model.parents[item] = node
            self.visit(item.context_expr, item)
            if item.optional_vars is not None:
                self.bind_target(item.optional_vars, "with", node, value=item.context_expr)
                self.visit(item.optional_vars, item)
        self.block(node.body, node)

    def import_(self, node: ast.Import | ast.ImportFrom) -> None:
        if id(node) not in self.prebound:
            self.bind_import(node, None)
        for alias in node.names:
            self.visit(alias, node)

    def bind_import(self, node: ast.Import | ast.ImportFrom, scope: Scope | None) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    self.bind(alias.asname, "import", node, scope, qualified=alias.name)
                else:
                    root = alias.name.split(".", 1)[0]
                    self.bind(root, "import", node, scope, qualified=root)
            return
        module = node.module or ""
        relative = node.level > 0
        for alias in node.names:
            if alias.name == "*":
                continue
            qualified = None if relative else f"{module}.{alias.name}"
            self.bind(alias.asname or alias.name, "import", node, scope, qualified=qualified)

    def global_(self, node: ast.Global | ast.Nonlocal) -> None:
        names = self.model.scope.globals if isinstance(node, ast.Global) else self.model.scope.nonlocals
        names.update(node.names)

    def named_expr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value, node)
        scope = self.model.scope
        while scope.kind == "comprehension" and scope.parent is not None:
            scope = scope.parent
        if isinstance(node.target, ast.Name):
            self.bind(node.target.id, "walrus", node, scope, value=node.value)
        self.visit(node.target, node)

    def return_(self, node: ast.Return) -> None:
        model = self.model
        if node.value is not None:
            self.visit(node.value, node)
            if model.functions and isinstance(model.functions[-1], (ast.FunctionDef, ast.AsyncFunctionDef)):
                model.returns.setdefault(model.functions[-1], []).append(node.value)

    def name(self, node: ast.Name) -> None:
        if not isinstance(node.ctx, ast.Store):
            self.model.name_bindings[node] = self.model.lookup(node.id)

    def match_capture(self, node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            self.visit(child, node)
        name = getattr(node, "name", None) or getattr(node, "rest", None)
        if name:
            self.bind(name, "match", node)

    # -- guards --------------------------------------------------------------------------

    def if_(self, node: ast.If) -> None:
        model = self.model
        self.visit(node.test, node)
        positive, negative = guard_rules.guards_of(model, node.test)
        self.block(node.body, node, positive)
        self.block(node.orelse, node, negative)
        # ``if not hasattr(torch, "_x"): return fallback`` guards the rest of the block.
        if not node.orelse and negative and guard_rules.ends_in_exit(node.body):
            model.block_guards[-1].extend(negative)

    def try_(self, node: ast.Try) -> None:
        self.block(node.body, node, guard_rules.try_guards(node))
        for handler in node.handlers:
            self.model.parents[handler] = node
            for visitor in self.enter.get(ast.ExceptHandler) or ():
                visitor(handler)
            if handler.type is not None:
                self.visit(handler.type, handler)
            if handler.name:
                self.bind(handler.name, "except", handler)
            self.block(handler.body, handler, guard_rules.handler_guards(handler))
            for leaver in self.exit.get(ast.ExceptHandler) or ():
                leaver(handler)
        self.block(node.orelse, node)
        self.block(node.finalbody, node)

    def if_exp(self, node: ast.IfExp) -> None:
        model = self.model
        self.visit(node.test, node)
        positive, negative = guard_rules.guards_of(model, node.test)
        self.guarded(node.body, node, positive)
        self.guarded(node.orelse, node, negative)

    def guarded(self, expr: ast.AST, parent: ast.AST, guards: tuple[guard_rules.Guard, ...]) -> None:
        model = self.model
        model.guard_stack.extend(guards)
        try:
            self.visit(expr, parent)
        finally:
            if guards:
                del model.guard_stack[-len(guards) :]

    def bool_op(self, node: ast.BoolOp) -> None:
        model = self.model
        values = node.values
        self.visit(values[0], node)
        is_and = isinstance(node.op, ast.And)
        for index in range(1, len(values)):
            positive, negative = guard_rules.guards_of(model, values[index - 1])
            self.guarded(values[index], node, positive if is_and else negative)

    def assert_(self, node: ast.Assert) -> None:
        self.visit(node.test, node)
        if node.msg is not None:
            self.visit(node.msg, node)
        self.model.block_guards[-1].extend(guard_rules.guards_of(self.model, node.test)[0])


_SINGLETONS = _singleton_classes()
def _no_children(node: ast.AST) -> None:
    """Leaf nodes: nothing below them to walk."""


def _all_args(args: ast.arguments) -> list[ast.arg]:
    found = [*args.posonlyargs, *args.args]
    if args.vararg is not None:
        found.append(args.vararg)
    found.extend(args.kwonlyargs)
    if args.kwarg is not None:
        found.append(args.kwarg)
    return found


def _module_level(body: list[ast.stmt]) -> Iterable[ast.stmt]:
    """Module-level statements, including those nested in ``if``/``try``/``with`` blocks."""
    stack = list(reversed(body))
    while stack:
        statement = stack.pop()
        yield statement
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for name in _BLOCK_FIELDS:
            children = getattr(statement, name, None)
            if children:
                stack.extend(reversed(children))
        for handler in getattr(statement, "handlers", ()) or ():
            stack.extend(reversed(handler.body))


def _mentions_version_name(name: str) -> bool:
    lowered = name.lower()
    return "version" in lowered and ("torch" in lowered or "pt" in lowered.split("_") or lowered.startswith("is_"))
