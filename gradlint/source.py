"""Reading and writing Python source bytes without losing encoding, BOM or line endings."""

from __future__ import annotations

import codecs
import errno
import os
import re
import stat
import tokenize
from collections.abc import Callable
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
    # Bytes that are invalid in the encoding but that Python accepts (inside comments, on
    # 3.11) were decoded as U+FFFD: fine to check, never to write back.
    lossy: bool = False

    def encode(self, text: str) -> bytes:
        return text.encode(self.encoding)


def _location_of_byte(data: bytes, offset: int) -> Location:
    line_start = data.rfind(b"\n", 0, offset) + 1
    return Location(data.count(b"\n", 0, offset) + 1, offset - line_start + 1)


_FIRST_LINES = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)?")


def _lines_as_python_reads_them(data: bytes) -> Callable[[], bytes]:
    """A ``readline`` for ``detect_encoding`` that ends lines at ``\r`` too, as Python's
    tokenizer does (``BytesIO.readline`` would make one line of a CR-only file)."""
    position = 0

    def readline() -> bytes:
        nonlocal position
        match = _FIRST_LINES.match(data, position)
        line = match.group() if match else b""
        position += len(line)
        return line

    return readline


_COOKIE = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")
_BLANK_OR_COMMENT = re.compile(rb"^[ \t\f]*(?:[#\r\n]|$)")


def _raw_cookie(data: bytes) -> str | None:
    """The PEP 263 cookie of the first two lines, read from the bytes as CPython does."""
    if data.startswith(b"\xef\xbb\xbf"):
        return None  # a BOM with a contradicting cookie is an error either way
    readline = _lines_as_python_reads_them(data)
    for _ in range(2):
        line = readline()
        match = _COOKIE.match(line)
        if match:
            try:
                return codecs.lookup(match.group(1).decode("ascii")).name
            except (LookupError, UnicodeDecodeError):
                return None
        if not _BLANK_OR_COMMENT.match(line):
            return None
    return None


def _python_accepts(data: bytes) -> bool:
    """Whether the running Python compiles ``data`` (it skips invalid bytes in comments)."""
    try:
        compile(data, "<gradlint>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def decode(data: bytes) -> Source:
    """Decode per PEP 263 (coding cookie, BOM, UTF-8 default)."""
    try:
        encoding, _ = tokenize.detect_encoding(_lines_as_python_reads_them(data))
    except SyntaxError as error:
        # tokenize decodes the cookie's line as UTF-8 first; CPython reads the cookie from the
        # raw bytes (``#\xff coding: latin-1`` runs), so look for it the same way.
        cookie = _raw_cookie(data)
        if cookie is not None:
            encoding = cookie
        else:
            # No usable cookie: report the first bad byte against the UTF-8 default, if any.
            encoding = "utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8"
            try:
                data.decode(encoding)
            except UnicodeDecodeError:
                pass
            else:
                raise UndecodableSource(str(error), Location(1, 1)) from None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        if _python_accepts(data):
            return Source(data.decode(encoding, "replace"), encoding, lossy=True)
        raise UndecodableSource(
            f"cannot decode byte {data[error.start:error.start + 1]!r} as {encoding}",
            _location_of_byte(data, error.start),
        ) from None
    except LookupError:
        raise UndecodableSource(f"unknown encoding {encoding!r}", Location(1, 1)) from None
    return Source(text, encoding)


class UnreadableSource(Exception):
    """A path that is not a regular file, or cannot be opened or read (message says why)."""


class TooLarge(Exception):
    """A file larger than the configured limit (``size`` bytes, at least)."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def read_source_bytes(path: str, max_size: int | None = None) -> bytes:
    """The bytes of the regular file at ``path`` (symlinks followed), at most ``max_size``.

    Anything else (a FIFO, a device, a socket, a symlink loop) is refused before it is
    opened, so that ``/dev/zero`` or a FIFO named ``x.py`` cannot hang the run. The file is
    opened without blocking and checked again, in case it was swapped in between.
    """
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableSource(f"not a regular file ({_kind(info.st_mode)})")
        if max_size is not None and info.st_size > max_size:
            raise TooLarge(info.st_size)
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        raise UnreadableSource(_reason(error)) from None
    try:
        with os.fdopen(descriptor, "rb") as stream:
            opened = os.fstat(stream.fileno())
            if not stat.S_ISREG(opened.st_mode):
                raise UnreadableSource(f"not a regular file ({_kind(opened.st_mode)})")
            data = stream.read() if max_size is None else stream.read(max_size + 1)
    except OSError as error:
        raise UnreadableSource(_reason(error)) from None
    if max_size is not None and len(data) > max_size:
        raise TooLarge(len(data))  # it grew after the size check
    return data


def _reason(error: OSError) -> str:
    if error.errno == errno.ELOOP:
        return "a symlink loop (too many levels of symbolic links)"
    return error.strerror or str(error)


def write_atomically(path: str, data: bytes) -> None:
    """Replace ``path`` with ``data`` via a temporary file and rename, keeping its mode.

    A symlink is written through: its target gets the new bytes and the link stays a link.
    A file that already holds ``data`` is not touched (its mtime stays); a read-only file is
    refused (``PermissionError``), as a plain write would be, though a rename could replace it.
    """
    target = os.path.realpath(path)
    info = os.stat(target)
    if holds(target, data, info):
        return
    refuse_read_only(target, info)
    replace_atomically(target, data, info.st_mode & 0o7777)


def holds(target: str, data: bytes, info: os.stat_result) -> bool:
    """Whether the regular file ``target`` (``info`` its stat) already holds exactly ``data``."""
    if not stat.S_ISREG(info.st_mode) or info.st_size != len(data):
        return False
    try:
        with open(target, "rb") as stream:
            return stream.read(len(data) + 1) == data
    except OSError:
        return False


def refuse_read_only(target: str, info: os.stat_result) -> None:
    """Raise ``PermissionError`` for a file nobody may write (mode) or this process may not."""
    if not info.st_mode & 0o222 or not os.access(target, os.W_OK):
        raise PermissionError(errno.EACCES, "read-only file", target)


def stage(target: str, data: bytes, mode: int | None = None) -> str:
    """Write ``data`` to a new temporary file next to ``target`` (same file system); its path."""
    import tempfile  # only a run that writes pays for it (it loads the random module)

    handle, temporary = tempfile.mkstemp(
        prefix=".gradlint-", suffix=".tmp", dir=os.path.dirname(target) or "."
    )
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        if mode is not None:
            os.chmod(temporary, mode)
    except BaseException:
        discard(temporary)
        raise
    return temporary


def replace_atomically(target: str, data: bytes, mode: int | None = None) -> None:
    """Replace ``target`` so that a reader sees the old or the new bytes, never a mix."""
    temporary = stage(target, data, mode)
    try:
        os.replace(temporary, target)
    except BaseException:
        discard(temporary)
        raise


def discard(temporary: str) -> None:
    """Remove a temporary file if it is still there."""
    try:
        os.unlink(temporary)
    except OSError:
        pass


def new_file_mode() -> int:
    """The mode a plain ``open(path, "w")`` would give a new file (0o666 less the umask)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask
