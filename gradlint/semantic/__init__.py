"""The semantic model: what a file's names and values are, built in one walk of the stdlib ast.

Design (after ruff's ``ruff_python_semantic``, small and in Python):

- **One walk per file.** :func:`gradlint.semantic.walker.analyse` visits every node once, in
  source order. While it walks it keeps the model current (scopes, bindings, the statement and
  the guards around the node) and calls the rules' ``visit_<Node>`` / ``leave_<Node>`` methods
  for the node types they declare. A rule never re-walks a function body per statement; a
  decision that needs later code is deferred to ``leave_FunctionDef`` or ``end_file``.
- **Scopes and bindings** (:mod:`.model`): module, class, function, lambda and comprehension
  scopes; a :class:`Binding` for every name a statement binds (assignment targets with tuples
  and starred, augmented and annotated assignment, parameters, loop and comprehension targets,
  ``with ... as``, imports with aliases, walrus, ``except ... as``, ``global``/``nonlocal``,
  match captures, ``def`` and ``class``). Every ``Name`` load is resolved to the binding visible
  at that point (flow-ordered within a scope; class scopes are skipped from nested functions;
  module-level imports are known from the start, wherever they sit in the file).
- **Qualified names** (:meth:`SemanticModel.qualified_name`): ``T.nn.utils.clip_grad_norm_``
  -> ``torch.nn.utils.clip_grad_norm_`` through ``import torch as T``, ``from torch import
  _foreach_norm as fn`` and ``import torch.distributed as dist``; a local that shadows the
  import is not the module.
- **Guards** (:mod:`.guards`): the enclosing ``try`` handlers, ``hasattr``/``getattr``/``dir``
  tests (and names bound from them), torch version gates (comparisons, flags computed once,
  helper calls such as ``is_torch_version("<", "2.2")``), ``TYPE_CHECKING`` blocks, and
  ``if not hasattr(...): return`` for the rest of a block.
- **Value kinds** (:mod:`.kinds`): a small conservative inference of what an expression is
  (tensor, gradient, parameters, norm, module, device, number, callable, mapping, ...), from
  annotations, calls, attributes and flow through assignments, loop targets, comprehensions,
  simple returns and ``self.attr``. Unknown stays :data:`Kind.UNKNOWN`; rules treat it
  conservatively.

Rules use ``self.model`` (a :class:`SemanticModel`) and report ast nodes; positions are turned
into character columns by the engine. Fixes are built later with libcst at the same source
ranges (:mod:`gradlint.fixing`), only for files that are fixed.
"""

from __future__ import annotations

from gradlint.semantic.kinds import Kind
from gradlint.semantic.model import Binding, Scope, SemanticModel

__all__ = ["Binding", "Kind", "Scope", "SemanticModel"]
