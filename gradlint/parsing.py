"""The one parse of a file: the stdlib ast (its C parser costs about a tenth of libcst's).

It doubles as the syntax check: GL000 is exactly what Python refuses to run. A file the
running Python rejects but a newer one accepts is skipped with a warning (see the engine).
"""

from __future__ import annotations

import ast


class Parsed:
    """A file's text and its ast."""

    __slots__ = ("tree", "text")

    def __init__(self, tree: ast.Module, text: str) -> None:
        self.tree = tree
        self.text = text


def _failure(message: str, *, compiler: bool = False) -> SyntaxError:
    failure = SyntaxError(message)
    failure.lineno, failure.offset = 1, 1
    if compiler:
        failure.gradlint_compiler = True  # type: ignore[attr-defined] # not newer grammar
    return failure


def parse(text: str, path: str) -> Parsed | SyntaxError:
    """Parse and compile with the stdlib; a ``SyntaxError`` (also for NUL bytes, or too deep
    to parse) is returned."""
    try:
        tree = compile(text, path, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as error:
        return error
    except (ValueError, RecursionError, MemoryError) as error:
        return _failure(f"cannot parse: {error}")
    try:
        # The parser accepts what the compiler then rejects (`return` outside a function, a
        # late `from __future__` import, `nonlocal` at module level...). Compiling the tree
        # costs about a fifth of the parse.
        compile(tree, path, "exec", dont_inherit=True)
    except SyntaxError as error:
        error.gradlint_compiler = True  # type: ignore[attr-defined]
        return error
    except RecursionError:
        # Compiling an ast object recurses deeper than compiling the text: ask the text.
        try:
            compile(text, path, "exec", dont_inherit=True)
        except SyntaxError as error:
            error.gradlint_compiler = True  # type: ignore[attr-defined]
            return error
        except (ValueError, RecursionError, MemoryError) as error:
            return _failure(f"cannot compile: {error}", compiler=True)
    except (ValueError, MemoryError) as error:
        return _failure(f"cannot compile: {error}", compiler=True)
    return Parsed(tree, text)
