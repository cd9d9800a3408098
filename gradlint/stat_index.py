"""Which files have not changed since the last run, known from a stat instead of a read.

The cache is content-addressed: a hit needs the file's bytes and their hash. On a warm run that
read and hash of every file is most of the work, so the index keeps, per path, the stat the file
had when it was read, the content key it had then and the result stored under that key. A file
whose size, inode, mtime and ctime are all as recorded is served from the index; any other is
read and hashed as before. Git trusts its index the same way.

ctime is the guarantee: no tool can set it, and every write of the file moves it. Timestamps
are coarse (a few milliseconds), so a file written twice in one tick could keep its stat; a
stat is therefore recorded only when the file's last change is older than :data:`SETTLED_NS`
at the moment it was taken (git's "racily clean" rule). A newer file is hashed on every run
until it settles.
"""

from __future__ import annotations

import os
import time

from gradlint.cache import Cache, entry_of, frame, result_from_entry, unframe
from gradlint.digest import hexdigest
from gradlint.findings import FileResult
from gradlint.source import replace_atomically

# A change must be this much older than the stat that saw it before the stat is trusted.
SETTLED_NS = 2_000_000_000


class StatIndex:
    """One index per cache folder and settings fingerprint, read once and written once a run."""

    def __init__(self, cache: Cache) -> None:
        name = hexdigest(cache.fingerprint.encode())[:32] + ".json"
        self.path = os.path.join(cache.directory, "index", name)
        self._records: dict[str, list[object]] | None = None
        self._changed = False

    def _load(self) -> dict[str, list[object]]:
        if self._records is None:
            self._records = {}
            try:
                with open(self.path, "rb") as stream:
                    data = unframe(stream.read())
            except (OSError, ValueError, RecursionError):
                data = None
            if isinstance(data, dict) and isinstance(data.get("files"), dict):
                self._records = data["files"]
        return self._records

    def lookup(self, path: str, info: os.stat_result) -> tuple[str, FileResult] | None:
        """The content key and result recorded for ``path``, if its stat is unchanged."""
        record = self._load().get(os.path.abspath(path))
        if not (isinstance(record, list) and len(record) == 3 and record[0] == _stamp(info)):
            return None
        key = record[1]
        result = result_from_entry(record[2], path)
        if not isinstance(key, str) or result is None:
            return None
        return key, result

    def record(self, path: str, info: os.stat_result, seen_ns: int, key: str, result: FileResult) -> None:
        """Remember ``result`` (stored under ``key``) for the stat ``info`` taken at ``seen_ns``."""
        if max(info.st_mtime_ns, info.st_ctime_ns) > seen_ns - SETTLED_NS:
            return  # changed too recently for its stat to tell a later change apart
        records = self._load()
        stamp = _stamp(info)
        absolute = os.path.abspath(path)
        old = records.get(absolute)
        if isinstance(old, list) and len(old) == 3 and old[0] == stamp and old[1] == key:
            return
        records[absolute] = [stamp, key, entry_of(result)]
        self._changed = True

    def save(self) -> None:
        """Write the index if this run changed it; entries of deleted files are dropped then."""
        if not self._changed or self._records is None:
            return
        kept = {path: record for path, record in self._records.items() if os.path.exists(path)}
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            replace_atomically(self.path, frame({"files": kept}))
        except (OSError, TypeError, ValueError, RecursionError):
            pass  # as for the cache's entries: an unwritable index costs speed, not correctness
        self._changed = False


def stat_now(path: str) -> tuple[os.stat_result, int] | None:
    """The file's stat and the time just before it was taken (None if it cannot be had)."""
    seen_ns = time.time_ns()
    try:
        return os.stat(path), seen_ns
    except OSError:
        return None


def _stamp(info: os.stat_result) -> list[int]:
    return [info.st_size, info.st_ino, info.st_dev, info.st_mtime_ns, info.st_ctime_ns]
