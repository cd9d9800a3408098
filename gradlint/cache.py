"""A content-addressed cache of per-file results in ``.gradlint_cache/``.

The key covers the file's bytes, its path, the settings that affect findings and the
gradlint version, so a hit can never be stale. Entries are written atomically (temporary
file and rename), which keeps two concurrent runs from reading half-written entries. An
entry that does not match its checksum or does not have the shape written here (truncated,
edited, from another tool) is treated as a miss, recomputed and overwritten.
"""

from __future__ import annotations

import json
import os

from gradlint import __version__
from gradlint.digest import hexdigest
from gradlint.findings import FileResult, Finding
from gradlint.source import replace_atomically


class Cache:
    def __init__(self, directory: str, fingerprint: str) -> None:
        self.directory = os.path.join(directory, __version__)
        self.fingerprint = fingerprint
        self._ready = False

    def key(self, path: str, data: bytes) -> str:
        return hexdigest(
            data, b"\0", os.path.abspath(path).encode("utf-8", "surrogateescape"), b"\0", self.fingerprint.encode()
        )

    def _file(self, key: str) -> str:
        return os.path.join(self.directory, key[:2], key + ".json")

    def get(self, key: str, path: str) -> FileResult | None:
        """The stored result, or None when there is none or it is malformed (then it is
        recomputed and overwritten: a bad entry never becomes a permanent error)."""
        return result_from_entry(self._read(self._file(key)), path)

    def put(self, key: str, result: FileResult) -> None:
        self._write(self._file(key), entry_of(result))

    def get_reduced(self, key: str) -> list[Finding] | None:
        """A project rule's findings stored under ``key`` (see :func:`reduce_key`)."""
        data = self._read(self._reduced_file(key))
        try:
            if not (isinstance(data, dict) and isinstance(data.get("reduced"), list)):
                return None
            if not all(_valid_finding(f) and isinstance(f.get("path"), str) for f in data["reduced"]):
                return None
            return [Finding.from_dict(f) for f in data["reduced"]]
        except (KeyError, TypeError, ValueError, AttributeError):
            return None

    def put_reduced(self, key: str, findings: list[Finding]) -> None:
        self._write(self._reduced_file(key), {"reduced": [f.to_dict() for f in findings]})

    def reduce_key(self, code: str, keys: list[tuple[str, str]]) -> str:
        """The key of a project rule's findings: its code and the (path, key) of every file
        that gave it facts, so that the stored findings hold exactly while none of them changes."""
        parts = [code, self.fingerprint, *(f"{path}\0{key}" for path, key in sorted(keys))]
        return hexdigest("\0".join(parts).encode("utf-8", "surrogateescape"))

    def _reduced_file(self, key: str) -> str:
        return os.path.join(self.directory, "reduced", key + ".json")

    def _read(self, target: str) -> object:
        try:
            with open(target, "rb") as stream:
                return unframe(stream.read())
        except (OSError, ValueError, RecursionError):
            return None

    def _write(self, target: str, entry: object) -> None:
        try:
            self._prepare()
            os.makedirs(os.path.dirname(target), exist_ok=True)
            replace_atomically(target, frame(entry))
        except (OSError, TypeError, ValueError, RecursionError):
            # A read-only or full disk (or an unstorable result) makes the cache useless,
            # not the run wrong.
            pass

    def _prepare(self) -> None:
        """The version folder, and the marker that makes git (and ``gradlint clean``) know it."""
        if not self._ready:
            os.makedirs(self.directory, exist_ok=True)
            marker = os.path.join(os.path.dirname(self.directory), ".gitignore")
            if not os.path.exists(marker):
                with open(marker, "w", encoding="utf-8") as stream:
                    stream.write(MARKER + "*\n")
            self._ready = True


def entry_of(result: FileResult) -> dict[str, object]:
    """What is stored of a file's result (its path is not: the key covers it)."""
    return {"findings": [f.to_dict() for f in result.findings], "facts": result.facts, "skipped": result.skipped}


def result_from_entry(data: object, path: str) -> FileResult | None:
    """The result a stored entry describes, or None when it is not one ``entry_of`` wrote."""
    try:
        if not _valid_entry(data):
            return None
        return FileResult(
            path=path,
            findings=[Finding.from_dict({**f, "path": path}) for f in data["findings"]],  # type: ignore[index]
            facts=data["facts"],  # type: ignore[index]
            skipped=data.get("skipped"),  # type: ignore[union-attr]
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def frame(entry: object) -> bytes:
    """An entry as stored: the digest of its JSON on the first line, then the JSON."""
    payload = json.dumps(entry).encode("utf-8")
    return hexdigest(payload).encode() + b"\n" + payload


def unframe(data: bytes) -> object:
    """The JSON of a stored entry; ValueError if it is truncated, altered or not ours."""
    digest, _, payload = data.partition(b"\n")
    if hexdigest(payload).encode() != digest:
        raise ValueError("cache entry does not match its checksum")
    return json.loads(payload)


def _is_location(value: object) -> bool:
    return (
        isinstance(value, dict)
        and set(value) == {"row", "column"}
        and all(type(v) is int and v >= 0 for v in value.values())
    )


def _valid_finding(item: object) -> bool:
    if not isinstance(item, dict):
        return False
    fix = item.get("fix")
    return (
        isinstance(item.get("code"), str)
        and isinstance(item.get("message"), str)
        and _is_location(item.get("location"))
        and _is_location(item.get("end_location"))
        and (item.get("noqa_row") is None or type(item.get("noqa_row")) is int)
        and (
            fix is None
            or isinstance(fix, dict)
            and fix.get("applicability") in ("safe", "unsafe")
            and isinstance(fix.get("message"), str)
            and isinstance(fix.get("edits"), list)
            and all(
                isinstance(e, dict)
                and isinstance(e.get("content"), str)
                and _is_location(e.get("location"))
                and _is_location(e.get("end_location"))
                for e in fix["edits"]
            )
        )
    )


def _valid_entry(data: object) -> bool:
    """The shape ``put`` writes: findings as dicts, facts as lists of dicts by rule code."""
    return (
        isinstance(data, dict)
        and isinstance(data.get("findings"), list)
        and all(_valid_finding(f) for f in data["findings"])
        and isinstance(data.get("facts"), dict)
        and (data.get("skipped") is None or isinstance(data.get("skipped"), str))
        and all(
            isinstance(code, str) and isinstance(facts, list) and all(isinstance(f, dict) for f in facts)
            for code, facts in data["facts"].items()
        )
    )


MARKER = "# Created by gradlint automatically.\n"


class NotACache(Exception):
    """``gradlint clean`` was pointed at a directory that gradlint did not create."""


def _is_cache(directory: str) -> bool:
    """Made by gradlint: its marker .gitignore, or nothing but version folders."""
    try:
        with open(os.path.join(directory, ".gitignore"), encoding="utf-8") as stream:
            if stream.read(len(MARKER)) == MARKER:
                return True
        return False
    except OSError:
        pass
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return False
    return all(entry.is_dir(follow_symlinks=False) and entry.name[:1].isdigit() for entry in entries)


def clear(directory: str) -> bool:
    """Remove a cache directory; True if there was one.

    Refuses (NotACache) a directory gradlint did not make, so that a mistaken ``cache-dir``
    (``"."``, ``".."``, ``"src"``) can never make ``gradlint clean`` delete a project.
    """
    if not os.path.isdir(directory) or os.path.islink(directory):
        return False
    if not _is_cache(directory):
        raise NotACache(f"{directory} is not a gradlint cache (no marker file); not removed")
    import shutil

    shutil.rmtree(directory)
    return True
