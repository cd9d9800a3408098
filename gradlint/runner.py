"""Run the engine over many files: in a process pool, through the cache, then the reduce step
of project-wide rules."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from gradlint.cache import Cache
from gradlint.config import Settings
from gradlint.fileinfo import FileInfo, describe_file
from gradlint.findings import PARSE_ERROR_CODE, FileResult, Finding, Location, parse_error
from gradlint.registry import UNUSED_NOQA_CODE, reducer, rule_metas
from gradlint.suppression import apply_line_edits, unused_noqa_findings
from gradlint.stat_index import StatIndex, stat_now
from gradlint.source import (
    Source,
    TooLarge,
    UndecodableSource,
    UnreadableSource,
    decode,
    read_source_bytes,
)

if TYPE_CHECKING:
    from gradlint.engine import Engine

# Recursion limit (Python frames) and thread stack for the second try of a deeply nested file.
MAX_DEPTH = 20_000
_DEEP_STACK_BYTES = 512 * 1024 * 1024
DEPTH_MESSAGE = "cannot analyse: nested too deeply (over {} levels of recursion); not checked"

# Below this many files a pool costs more to start than it saves.
MIN_FILES_PER_WORKER = 8


@dataclass(frozen=True, slots=True)
class RunOptions:
    fix: bool = False
    unsafe_fixes: bool = False
    diff: bool = False
    jobs: int | None = None
    use_cache: bool = True
    want_edits: bool = False

    @property
    def fixing(self) -> bool:
        return self.fix or self.diff


@dataclass(slots=True)
class RunResult:
    results: list[FileResult]
    findings: list[Finding] = field(default_factory=list)
    # Failures of the run as a whole (a project rule's reduce step), not of one file.
    errors: list[str] = field(default_factory=list)

    @property
    def internal_errors(self) -> list[str]:
        return [r.internal_error for r in self.results if r.internal_error] + self.errors

    @property
    def warnings(self) -> list[str]:
        notes = [f"{r.path}: skipped: {r.skipped}" for r in self.results if r.skipped]
        notes.extend(error for r in self.results for error in r.fix_errors)
        return notes


class _Worker:
    """Per-process state: the engine (with its rules, built once, on first need) and the cache."""

    def __init__(self, settings: Settings, options: RunOptions) -> None:
        self.settings = settings
        self.options = options
        self._engine: Engine | None = None
        self.cache = (
            Cache(
                os.path.join(settings.root, settings.cache_dir),
                # JSON and SARIF runs store fix edits, so they get their own entries.
                settings.fingerprint() + ("+edits" if options.want_edits else ""),
            )
            if options.use_cache and not options.fixing
            else None
        )

    @property
    def engine(self) -> Engine:
        # Imported here: a run served entirely from the cache never loads libcst.
        if self._engine is None:
            from gradlint.engine import Engine

            self._engine = Engine(self.settings, want_edits=self.options.want_edits)
        return self._engine

    def read(self, path: str) -> bytes | FileResult:
        """The file's bytes, or the result that explains why there are none."""
        try:
            return read_source_bytes(path, self.settings.max_file_size)
        except TooLarge as error:
            return FileResult(
                path,
                skipped=f"{error.size} bytes is larger than max-file-size "
                f"({self.settings.max_file_size} bytes)",
            )
        except UnreadableSource as error:
            return FileResult(path, [parse_error(path, f"cannot read file: {error}", Location(1, 1))])

    def process_path(self, path: str) -> FileResult:
        data = self.read(path)
        if isinstance(data, FileResult):
            return data
        key = None if self.cache is None else self.cache.key(path, data)
        if key is not None:
            hit = self.cache.get(key, path)  # type: ignore[union-attr]
            if hit is not None:
                return hit
        return self.process_miss(path, data, key)

    def process_miss(self, path: str, data: bytes, key: str | None) -> FileResult:
        """Check bytes the cache did not have, and store the result under ``key``."""
        result = self.process_bytes(path, data)
        if self.cache is not None and key is not None and result.internal_error is None:
            self.cache.put(key, result)
        return result

    def process_bytes(self, path: str, data: bytes) -> FileResult:
        """Check (or fix) one file; whatever goes wrong is that file's error, never the run's.

        Code nested deeper than the recursion limit allows (valid Python: long ``elif`` or
        operator chains, deep brackets) is checked again in a thread with a deep stack; what
        is still too deep for that gets one GL000 that says so (see :data:`MAX_DEPTH`).
        """
        try:
            return self._process_bytes(path, data)
        except Exception as error:  # noqa: BLE001 - one file's failure must not end the run
            if not _caused_by(error, RecursionError):
                return self._failure(path, error)
        try:
            return _with_deep_stack(self._process_bytes, path, data)
        except Exception as error:  # noqa: BLE001
            if not _caused_by(error, RecursionError):
                return self._failure(path, error)
        return FileResult(path, [parse_error(path, DEPTH_MESSAGE.format(MAX_DEPTH), Location(1, 1))])

    @staticmethod
    def _failure(path: str, error: Exception) -> FileResult:
        from gradlint.engine import RuleCrash

        if _caused_by(error, MemoryError):
            return FileResult(path, internal_error=f"{path}: ran out of memory while checking it")
        if isinstance(error, RuleCrash):
            return FileResult(path, internal_error=str(error))
        return FileResult(path, internal_error=f"{path}: internal error: {type(error).__name__}: {error}")

    def _process_bytes(self, path: str, data: bytes) -> FileResult:
        try:
            source = decode(data)
        except UndecodableSource as error:
            return FileResult(path, [parse_error(path, f"cannot decode file: {error}", error.location)])
        info = describe_file(path)
        if path.endswith(".ipynb"):
            return self._process_notebook(path, source, info)
        if not self.options.fixing:
            return self._with_unused_noqa(self.engine.check_text(source.text, info), source.text, info)
        if source.lossy:
            result = self._with_unused_noqa(self.engine.check_text(source.text, info), source.text, info)
            result.fix_errors = [f"{path}: not fixed: it has bytes that are not valid {source.encoding} "
                                 "(in comments); rewriting it would change them"]
            return result
        fixed, applied, errors = self._fix(source.text, info)
        fixed = _keep_final_line_break(source.text, fixed)
        result = self._with_unused_noqa(self.engine.check_text(fixed, info), fixed, info)
        result.fix_errors = errors
        result.fixed_count = applied
        if fixed != source.text:
            result.original = source.text
            result.fixed = fixed
            result.encoding = source.encoding
        return result

    def _fix(self, text: str, info: FileInfo) -> tuple[str, int, list[str]]:
        """The engine's fixes, then GL100's (drop ``# noqa`` codes that suppress nothing)."""
        fixed, applied, errors = self.engine.fix_text(text, info, unsafe=self.options.unsafe_fixes)
        result = self._with_unused_noqa(self.engine.check_text(fixed, info), fixed, info)
        unused = [f for f in result.findings if f.code == UNUSED_NOQA_CODE]
        if unused:
            fixed = apply_line_edits(fixed, unused)
            applied += len(unused)
        return fixed, applied, errors

    def _process_notebook(self, path: str, source: Source, info: FileInfo) -> FileResult:
        from gradlint import notebook

        try:
            book = notebook.load(source.text)
        except notebook.NotebookError as error:
            return FileResult(path, [parse_error(path, str(error), Location(1, 1))])
        original = source.text
        errors: list[str] = []
        applied = 0
        if self.options.fixing:
            fixed, applied, errors = self._fix(book.text, info)
            if fixed != book.text:
                try:
                    new_json = notebook.write_back(book, fixed, original)
                    book = notebook.load(new_json)
                except notebook.NotebookError as error:
                    errors.append(f"{path}: {error}")
                    new_json, applied = original, 0
            else:
                new_json = original
        result = self._with_unused_noqa(self.engine.check_text(book.text, info), book.text, info)
        result.findings = [notebook.map_finding(f, book) for f in result.findings]
        # Project facts carry module rows, which mean nothing in a notebook: GL004 skips them.
        result.facts = {}
        if self.options.fixing:
            result.fix_errors = errors
            result.fixed_count = applied
            if new_json != original:
                result.original, result.fixed, result.encoding = original, new_json, source.encoding
        return result

    def _with_unused_noqa(self, result: FileResult, text: str, info: FileInfo) -> FileResult:
        """Add GL100 findings (``# noqa`` codes that suppress nothing) to ``result``."""
        if UNUSED_NOQA_CODE not in self.settings.enabled_codes or "noqa" not in text.lower():
            return result
        codes = self.engine.codes_for(info, text)
        if UNUSED_NOQA_CODE not in codes:
            return result
        # Project rules (GL004) suppress in their reduce step; their noqa is not judged here.
        judged = frozenset(codes) - {meta.code for meta in rule_metas() if meta.reducer} - {
            PARSE_ERROR_CODE, UNUSED_NOQA_CODE
        }
        found = unused_noqa_findings(
            text, result.path, result.findings, lambda t: self.engine.check_text(t, info).findings, judged
        )
        if found:
            result.findings = sorted([*result.findings, *found], key=lambda f: f.sort_key)
        return result


_LINE_BREAKS = ("\r\n", "\r", "\n")


def _keep_final_line_break(original: str, fixed: str) -> str:
    """``fixed`` ending as ``original`` does (libcst loses the last ``\r`` of a CR-only file)."""
    if fixed == original:
        return fixed
    end = next((brk for brk in _LINE_BREAKS if original.endswith(brk)), "")
    if end and fixed and not fixed.endswith(_LINE_BREAKS):
        return fixed + end
    return fixed


def _caused_by(error: BaseException, kind: type[BaseException]) -> bool:
    """``error`` is a ``kind`` or was raised from one (rule crashes wrap the original)."""
    seen: BaseException | None = error
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _with_deep_stack(function: Callable[..., FileResult], *args: object) -> FileResult:
    """``function(*args)`` in a thread with a large stack and a high recursion limit."""
    outcome: list[FileResult | BaseException] = []

    def target() -> None:
        try:
            outcome.append(function(*args))
        except BaseException as error:  # noqa: BLE001 - handed back to the caller's thread
            outcome.append(error)

    old_limit, old_stack = sys.getrecursionlimit(), threading.stack_size()
    try:
        threading.stack_size(_DEEP_STACK_BYTES)
        sys.setrecursionlimit(MAX_DEPTH)
        thread = threading.Thread(target=target, name="gradlint-deep")
        thread.start()
        thread.join()
    finally:
        sys.setrecursionlimit(old_limit)
        threading.stack_size(old_stack)
    (result,) = outcome
    if isinstance(result, BaseException):
        raise result
    return result


_WORKER: _Worker | None = None


def _init_worker(settings: Settings, options: RunOptions) -> None:
    global _WORKER
    _WORKER = _Worker(settings, options)


def _process_in_worker(paths: list[str]) -> list[FileResult]:
    assert _WORKER is not None
    return [_WORKER.process_path(path) for path in paths]


def _run_in_pool(
    order: list[str], jobs: int, chunksize: int, settings: Settings, options: RunOptions
) -> list[FileResult]:
    """Results for ``order`` from a process pool.

    A worker that dies (killed, out of memory) breaks the pool and every file it had not
    finished: those are tried again in a fresh pool, and the ones lost a second time one at a
    time, so that only the file that kills its worker is reported as not checked.
    """
    results: list[FileResult] = []
    pending = [order[i:i + chunksize] for i in range(0, len(order), chunksize)]
    lost: list[str] = []
    for _attempt in range(2):
        lost = []
        with _process_pool(jobs, settings, options) as pool:
            futures = [pool.submit(_process_in_worker, chunk) for chunk in pending]
            for chunk, future in zip(pending, futures):
                try:
                    results.extend(future.result())
                except Exception:  # noqa: BLE001 - a broken pool loses files, not the run
                    lost.extend(chunk)
        if not lost:
            return results
        pending = [[path] for path in lost]
    results.extend(_one_at_a_time(lost, settings, options))
    return results


def _process_pool(jobs: int, settings: Settings, options: RunOptions) -> Any:
    """Worker processes that each build their engine once. Imported here: multiprocessing
    costs a single-process run (``-j1``, one file from an editor) about 15 ms."""
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(max_workers=jobs, initializer=_init_worker, initargs=(settings, options))


def _one_at_a_time(paths: list[str], settings: Settings, options: RunOptions) -> list[FileResult]:
    """Each file alone in a worker process; a fresh worker after one dies."""
    from concurrent.futures.process import BrokenProcessPool

    results: list[FileResult] = []
    queue = list(paths)
    while queue:
        with _process_pool(1, settings, options) as pool:
            while queue:
                path = queue.pop(0)
                try:
                    results.extend(pool.submit(_process_in_worker, [path]).result())
                except Exception as error:  # noqa: BLE001 - reported as this file's error
                    reason = "a worker process died" if isinstance(error, BrokenProcessPool) else (
                        f"{type(error).__name__}: {error}"
                    )
                    results.append(FileResult(path, internal_error=f"{path}: not checked: {reason}"))
                    if isinstance(error, BrokenProcessPool):
                        break
    return results


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def run_paths(files: Sequence[str], settings: Settings, options: RunOptions) -> RunResult:
    """Check (or fix) ``files``; results come back sorted by path whatever the job count.

    Cache hits are served in this process first; only the misses go to the engine, in a
    process pool when there are enough of them to pay for its start-up.
    """
    main = _Worker(settings, options)
    results: list[FileResult] = []
    # Cache misses keep the bytes and key already read here, for the in-process path.
    misses: dict[str, tuple[bytes, str] | None] = {}
    keys: dict[str, str] = {}
    index = None if main.cache is None else StatIndex(main.cache)
    seen: dict[str, tuple[os.stat_result, int]] = {}
    for path in files:
        if main.cache is None or index is None:
            misses[path] = None
            continue
        stat = stat_now(path)
        if stat is not None:
            known = index.lookup(path, stat[0])
            if known is not None:
                keys[path], hit = known
                results.append(hit)
                continue
        data = main.read(path)
        if isinstance(data, FileResult):
            results.append(data)
            continue
        key = keys[path] = main.cache.key(path, data)
        if stat is not None:
            seen[path] = stat
        hit = main.cache.get(key, path)
        if hit is None:
            misses[path] = (data, key)
        else:
            results.append(hit)
    jobs = options.jobs or default_jobs()
    jobs = max(1, min(jobs, len(misses) // MIN_FILES_PER_WORKER or 1))
    if jobs == 1:
        results.extend(
            main.process_path(path) if known is None else main.process_miss(path, *known)
            for path, known in misses.items()
        )
    else:
        # Largest files first, so no worker is left with a big file at the end.
        order = sorted(misses, key=_size, reverse=True)
        chunksize = max(1, min(8, len(order) // (jobs * 16)))
        results.extend(_run_in_pool(order, jobs, chunksize, settings, options))
    if index is not None:
        for result in results:
            stat = seen.get(result.path)
            if stat is not None and result.internal_error is None:
                index.record(result.path, stat[0], stat[1], keys[result.path], result)
        index.save()
    return finish(results, settings, main.cache, keys)


def run_source(data: bytes, path: str, settings: Settings, options: RunOptions) -> RunResult:
    """Check (or fix) one file's bytes, e.g. from stdin."""
    worker = _Worker(settings, replace(options, use_cache=False))
    return finish([worker.process_bytes(path, data)], settings)


def check_bytes(data: bytes, path: str, settings: Settings, options: RunOptions) -> FileResult:
    """Check (never fix) one file's bytes: no cache, no reduce step."""
    worker = _Worker(settings, replace(options, fix=False, diff=False, use_cache=False))
    return worker.process_bytes(path, data)


def finish(
    results: list[FileResult], settings: Settings, cache: Cache | None = None, keys: dict[str, str] | None = None
) -> RunResult:
    """Sort results, run the reduce step of project rules, and collect every finding.

    With a cache, a project rule's findings are stored under the keys of the files that gave
    it facts: a run where none of them changed does not import the rule, let alone reduce.
    """
    results.sort(key=lambda r: r.path)
    findings = [finding for result in results for finding in result.findings]
    enabled = settings.enabled_codes
    errors = []
    for meta in rule_metas():
        if meta.code in enabled and meta.reducer is not None:
            facts = {r.path: r.facts[meta.code] for r in results if r.facts.get(meta.code)}
            stored = None
            if cache is not None and keys is not None and all(path in keys for path in facts):
                stored = cache.reduce_key(meta.code, [(path, keys[path]) for path in facts])
                reduced = cache.get_reduced(stored)
                if reduced is not None:
                    findings.extend(reduced)
                    continue
            try:
                reduced = reducer(meta)(facts, settings)
            except Exception as error:  # noqa: BLE001 - the per-file findings still stand
                errors.append(f"{meta.code}: the project-wide step failed: {type(error).__name__}: {error}")
                continue
            findings.extend(reduced)
            if stored is not None:
                cache.put_reduced(stored, list(reduced))  # type: ignore[union-attr]
    findings.sort(key=lambda finding: finding.sort_key)
    return RunResult(results, findings, errors)


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0
