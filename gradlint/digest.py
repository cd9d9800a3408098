"""The one hash behind the cache's keys, checksums and fingerprints.

``import hashlib`` loads OpenSSL (about 15 ms, a tenth of a whole warm run); the BLAKE2 module
it wraps loads in well under a millisecond. The hash tells contents apart; it guards nothing.
"""

from __future__ import annotations

try:
    from _blake2 import blake2b as _blake2b
except ImportError:  # pragma: no cover - a Python built without its own BLAKE2
    from hashlib import blake2b as _blake2b


def hexdigest(*parts: bytes) -> str:
    """The hex digest of ``parts`` joined (256 bits)."""
    digest = _blake2b(digest_size=32)
    for part in parts:
        digest.update(part)
    return digest.hexdigest()
