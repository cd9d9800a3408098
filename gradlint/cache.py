"""A content-addressed cache of per-file results in ``.gradlint_cache/``.

The key covers the file's bytes, its path, the settings that affect findings and the
gradlint version, so a hit can never be stale. Entries are written atomically (temporary
file and rename), which keeps two concurrent runs from reading half-written entries.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile

from gradlint import __version__
from gradlint.findings import FileResult, Finding


class Cache:
    def __init__(self, directory: str, fingerprint: str) -> None:
        self.directory = os.path.join(directory, __version__)
        self.fingerprint = fingerprint
        self._ready = False

    def key(self, path: str, data: bytes) -> str:
        digest = hashlib.sha256(data)
        digest.update(b"\0" + os.path.abspath(path).encode("utf-8", "surrogateescape"))
        digest.update(b"\0" + self.fingerprint.encode())
        return digest.hexdigest()

    def _file(self, key: str) -> str:
        return os.path.join(self.directory, key[:2], key + ".json")

    def get(self, key: str, path: str) -> FileResult | None:
        try:
            with open(self._file(key), encoding="utf-8") as stream:
                data = json.load(stream)
        except (OSError, ValueError):
            return None
        return FileResult(
            path=path,
            findings=[Finding.from_dict({**f, "path": path}) for f in data["findings"]],
            facts=data.get("facts", {}),
        )

    def put(self, key: str, result: FileResult) -> None:
        target = self._file(key)
        try:
            if not self._ready:
                os.makedirs(self.directory, exist_ok=True)
                marker = os.path.join(os.path.dirname(self.directory), ".gitignore")
                if not os.path.exists(marker):
                    with open(marker, "w", encoding="utf-8") as stream:
                        stream.write("# Created by gradlint automatically.\n*\n")
                self._ready = True
            os.makedirs(os.path.dirname(target), exist_ok=True)
            payload = json.dumps(
                {"findings": [f.to_dict() for f in result.findings], "facts": result.facts}
            )
            handle, temporary = tempfile.mkstemp(dir=os.path.dirname(target), suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(payload)
            os.replace(temporary, target)
        except OSError:
            # A read-only or full disk makes the cache useless, not the run wrong.
            pass


def clear(directory: str) -> bool:
    """Remove a cache directory; True if there was one."""
    if not os.path.isdir(directory):
        return False
    shutil.rmtree(directory)
    return True
