"""One response file → a clean :class:`Document`: its reader by suffix, the limits, the cleaning."""
from __future__ import annotations

import hashlib
from pathlib import Path

from ..records import Document
from .clean import clean
from .limits import IngestError, IngestLimits
from .readers import READERS, check_pages


def ingest_file(path: Path, limits: IngestLimits = IngestLimits()) -> Document:
    """Read and clean one response; raise :class:`IngestError` naming the file on bad input."""
    path = Path(path)
    if not path.is_file():
        raise IngestError(path, "no such file")
    read = READERS.get(path.suffix.lower())
    if read is None:
        raise IngestError(path, f"unknown file type {path.suffix or '(no suffix)'!r}; "
                                f"supported: {', '.join(sorted(READERS))}")
    try:
        if path.stat().st_size == 0:
            raise IngestError(path, "empty file")
        raw = read(path, limits)
        check_pages(path, raw, limits)
        sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as err:  # no permission, a file gone meanwhile: this file fails, not the run
        raise IngestError(path, f"cannot read it ({err.strerror or err})") from err
    document = clean(path.stem, str(path), raw, sha256)
    if not document.text[: document.body_end].strip():
        raise IngestError(path, "no text after cleaning (only whitespace, page numbers or URLs)")
    return document
