"""Seals: a segment's row count and root hash, an HMAC over them when a key is configured, and the
exported seal file.

Pure (standard library only). The key never comes from here: the CLI reads it from the environment
(``key_from_env`` is handed ``os.environ`` by the CLI; nothing reads the environment at import time)
and passes the bytes down.

Without a key, a seal is the root hash only. It still catches edits, deletions and a truncated tail
when checked against an *exported* copy kept outside the database, but someone who can rewrite both
the database and the exported file can recompute everything; the seal file says so. With a key held
outside the database, the HMAC cannot be recomputed after an edit, even by someone who can rewrite
the whole database.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac as _hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

FORMAT = "arrears-audit-seal/1"
ALGORITHM = "sha256 chain per (partition, day); root = last row_hash"
HMAC_ALGORITHM = "hmac-sha256"
UNKEYED_NOTE = (
    "no key configured: root hashes only, no HMAC; this seal proves integrity only while this file "
    "is kept where the database's writers cannot change it"
)
KEY_ENV, KEY_FILE_ENV = "ARREARS_AUDIT_KEY", "ARREARS_AUDIT_KEY_FILE"


class SealFileError(ValueError):
    """An exported seal file cannot be read."""


@dataclass(frozen=True)
class Seal:
    partition: str
    day: dt.date
    rows: int
    root: str
    hmac: str | None
    sealed_at: dt.datetime | None = None
    purged_on: dt.date | None = None
    source: str = "database"


def seal_hmac(key: bytes, partition: str, day: dt.date, rows: int, root: str) -> str:
    message = f"{FORMAT}\n{partition}\n{day.isoformat()}\n{rows}\n{root}".encode()
    return _hmac.new(key, message, hashlib.sha256).hexdigest()


def hmac_matches(key: bytes, seal: Seal, rows: int, root: str) -> bool:
    """Does the seal's HMAC vouch for this (rows, root)? Constant-time comparison."""
    if seal.hmac is None:
        return True
    return _hmac.compare_digest(seal.hmac, seal_hmac(key, seal.partition, seal.day, rows, root))


def key_from_env(environ: Mapping[str, str]) -> bytes | None:
    """The HMAC key: ``ARREARS_AUDIT_KEY`` (its UTF-8 bytes) or the contents of the file named by
    ``ARREARS_AUDIT_KEY_FILE`` (one trailing newline dropped). Neither set: no key."""
    text = environ.get(KEY_ENV)
    if text:
        return text.encode("utf-8")
    path = environ.get(KEY_FILE_ENV)
    if path:
        data = Path(path).read_bytes()
        key = data[:-1] if data.endswith(b"\n") else data
        if not key:
            raise ValueError(f"{KEY_FILE_ENV}: {path} is empty")
        return key
    return None


def seal_document(day: dt.date, seals: Iterable[Seal]) -> str:
    """The exported seal file for one day: the same seals always give the same bytes."""
    seals = sorted(seals, key=lambda s: s.partition)
    keyed = bool(seals) and all(s.hmac is not None for s in seals)
    doc = {
        "format": FORMAT,
        "day": day.isoformat(),
        "algorithm": ALGORITHM,
        "hmac_algorithm": HMAC_ALGORITHM if keyed else None,
        "keyed": keyed,
        "segments": [
            {
                "partition": s.partition,
                "rows": s.rows,
                "root": s.root,
                "hmac": s.hmac,
                "sealed_at": None if s.sealed_at is None else s.sealed_at.isoformat(),
            }
            for s in seals
        ],
    }
    if not keyed:
        doc["note"] = UNKEYED_NOTE
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def parse_seal_document(text: str, source: str) -> list[Seal]:
    try:
        doc = json.loads(text)
        if doc.get("format") != FORMAT:
            raise SealFileError(f"{source}: not an arrears audit seal (format {doc.get('format')!r})")
        day = dt.date.fromisoformat(doc["day"])
        return [
            Seal(
                partition=s["partition"],
                day=day,
                rows=int(s["rows"]),
                root=s["root"],
                hmac=s.get("hmac"),
                sealed_at=None if not s.get("sealed_at") else dt.datetime.fromisoformat(s["sealed_at"]),
                source=source,
            )
            for s in doc["segments"]
        ]
    except SealFileError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise SealFileError(f"{source}: unreadable seal file ({e})") from e


def read_seal_files(paths: Iterable[Path]) -> list[Seal]:
    """Seals from files, or from every ``*.json`` in a directory."""
    seals: list[Seal] = []
    for path in paths:
        files = sorted(path.glob("*.json")) if path.is_dir() else [path]
        for f in files:
            try:
                text = f.read_text(encoding="utf-8")
            except OSError as e:
                raise SealFileError(f"{f}: {e.strerror or e}") from e
            seals.extend(parse_seal_document(text, str(f)))
    return seals
