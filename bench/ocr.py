"""OCR on the four seed responses rendered image-only (tests/scans.py: 200 dpi grey scans,
0.4° turned, speckled), read by ``remiss ingest``'s OCR at ingest.ocr_dpi and one step below
and above it. Writes ``bench/results/ocr.json``:

- per DPI, on each response's first page: seconds per page and the character error rate
  (edit distance / source characters, whitespace collapsed) of the cleaned text;
- at the chosen DPI, the whole responses: seconds per page, CER, and how many of the 94
  gold quotes lie inside one paragraph after segment (``pipeline.gold.norm`` comparison).

    python -m bench.ocr
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.gold import load_statements, paragraphs_holding  # noqa: E402
from pipeline.ingest import IngestLimits, ingest_file  # noqa: E402
from pipeline.records import atomic_write_text  # noqa: E402
from pipeline.segment import segment  # noqa: E402
from tests.pdfs import LINES_PER_PAGE  # noqa: E402
from tests.scans import SCAN_DPI, write_scan  # noqa: E402

RESPONSES = ROOT / "corpus" / "responses"
STATEMENTS = ROOT / "labels" / "gold" / "statements.yaml"
RESULTS = ROOT / "bench" / "results" / "ocr.json"
DPI_STEP = 100


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance, one numpy row at a time (insertions by a running minimum)."""
    codes_b = np.frombuffer(b.encode("utf-32-le"), dtype=np.uint32)
    row = np.arange(len(b) + 1)
    steps = np.arange(len(b) + 1)
    for i, char in enumerate(a, 1):
        diagonal = row[:-1] + (codes_b != ord(char))
        new = np.empty_like(row)
        new[0] = i
        new[1:] = np.minimum(row[1:] + 1, diagonal)
        row = np.minimum.accumulate(new - steps) + steps
    return int(row[-1])


def cer(recognised: str, source: str) -> float:
    recognised, source = " ".join(recognised.split()), " ".join(source.split())
    return edit_distance(recognised, source) / len(source)


def source_lines(path: Path) -> list[str]:
    # as tests/test_pdf.py prints them: each non-blank line of the export
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def read_scan(scan: Path, dpi: int) -> tuple[object, float]:
    started = time.perf_counter()
    document = ingest_file(scan, IngestLimits(ocr="auto", ocr_dpi=dpi))
    return document, time.perf_counter() - started


def dpi_sweep(folder: Path, sources: list[Path], chosen: int) -> list[dict]:
    rows = []
    for dpi in (chosen - DPI_STEP, chosen, chosen + DPI_STEP):
        seconds = errors = chars = 0.0
        for source in sources:
            lines = source_lines(source)[:LINES_PER_PAGE]
            scan = write_scan(folder / f"{source.stem}-p1.pdf", lines, header=f"Remissvar {source.stem}")
            document, took = read_scan(scan, dpi)
            seconds += took
            text = " ".join(lines)
            errors += cer(document.text[: document.body_end], text) * len(" ".join(text.split()))
            chars += len(" ".join(text.split()))
        rows.append({"dpi": dpi, "pages": len(sources), "seconds_per_page": round(seconds / len(sources), 2),
                     "cer": round(errors / chars, 4)})
        print(rows[-1], flush=True)
    return rows


def whole_responses(folder: Path, sources: list[Path], dpi: int) -> dict:
    statements = load_statements(STATEMENTS)
    pages = seconds = errors = chars = 0.0
    paragraphs, confidence, per_doc = [], [], {}
    for source in sources:
        lines = source_lines(source)
        scan = write_scan(folder / f"{source.stem}.pdf", lines, header=f"Remissvar {source.stem}")
        document, took = read_scan(scan, dpi)
        pages += document.pages
        seconds += took
        text = " ".join(lines)
        doc_cer = cer(document.text[: document.body_end], text)
        errors += doc_cer * len(" ".join(text.split()))
        chars += len(" ".join(text.split()))
        confidence += document.ocr_confidence
        paragraphs += segment(document)
        quotes = {s.quote for s in statements if s.doc == source.stem}
        found = sum(len(paragraphs_holding(quote, source.stem, paragraphs)) == 1 for quote in quotes)
        per_doc[source.stem] = {"pages": document.pages, "cer": round(doc_cer, 4), "quotes": len(quotes),
                                "found": found, "seconds": round(took, 1)}
        print(source.stem, per_doc[source.stem], flush=True)
    # a quote labelled twice (two targets) counts once, as measure.py counts them: 94
    quotes = sorted({(s.doc, s.quote) for s in statements})
    missed = [{"doc": doc, "quote": quote[:80]} for doc, quote in quotes
              if len(paragraphs_holding(quote, doc, paragraphs)) != 1]
    return {"dpi": dpi, "pages": int(pages), "seconds_per_page": round(seconds / pages, 2),
            "cer": round(errors / chars, 4), "mean_confidence": round(sum(confidence) / len(confidence), 1),
            "quotes": len(quotes), "quotes_in_one_paragraph": len(quotes) - len(missed),
            "missed": missed, "documents": per_doc}


def main() -> None:
    chosen = IngestLimits().ocr_dpi
    sources = sorted(RESPONSES.glob("*.txt"))
    with tempfile.TemporaryDirectory() as tmp:
        results = {
            "machine": f"{os.cpu_count()} CPUs", "scan": {"dpi": SCAN_DPI, "angle": 0.4, "noise": 0.002},
            "dpi_sweep_first_pages": dpi_sweep(Path(tmp), sources, chosen),
            "whole_responses": whole_responses(Path(tmp), sources, chosen),
        }
    atomic_write_text(RESULTS, json.dumps(results, ensure_ascii=False, indent=2) + "\n")
    print(json.dumps({k: v for k, v in results["whole_responses"].items() if k != "missed"}, indent=2))


if __name__ == "__main__":
    main()
