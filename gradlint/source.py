"""Reading and writing Python source bytes without losing encoding, BOM or line endings."""

from __future__ import annotations

import io
import os
import tempfile
import tokenize
from dataclasses import dataclass

from gradlint.findings import Location


class UndecodableSource(Exception):
    """The bytes are not valid in the file's declared (or default UTF-8) encoding."""

    def __init__(self, message: str, location: Location) -> None:
        super().__init__(message)
        self.location = location


@dataclass(frozen=True, slots=True)
class Source:
    text: str
    encoding: str  # "utf-8-sig" when the file starts with a BOM

    def encode(self, text: str) -> bytes:
        return text.encode(self.encoding)


def _location_of_byte(data: bytes, offset: int) -> Location:
    line_start = data.rfind(b"\n", 0, offset) + 1
    return Location(data.count(b"\n", 0, offset) + 1, offset - line_start + 1)


def decode(data: bytes) -> Source:
    """Decode per PEP 263 (coding cookie, BOM, UTF-8 default)."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:
        # No usable cookie: report the first bad byte against the UTF-8 default if there is one.
        encoding = "utf-8"
        try:
            data.decode(encoding)
        except UnicodeDecodeError:
            pass
        else:
            raise UndecodableSource(str(error), Location(1, 1)) from None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        raise UndecodableSource(
            f"cannot decode byte {data[error.start:error.start + 1]!r} as {encoding}",
            _location_of_byte(data, error.start),
        ) from None
    except LookupError:
        raise UndecodableSource(f"unknown encoding {encoding!r}", Location(1, 1)) from None
    return Source(text, encoding)


def write_atomically(path: str, data: bytes) -> None:
    """Replace ``path`` with ``data`` via a temporary file and rename, keeping its mode."""
    directory = os.path.dirname(os.path.abspath(path))
    mode = os.stat(path).st_mode & 0o7777
    handle, temporary = tempfile.mkstemp(prefix=".gradlint-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
