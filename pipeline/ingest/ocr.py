"""OCR of scanned PDF pages: which pages need it, and Tesseract's Swedish reading of them."""
from __future__ import annotations

import re
from pathlib import Path

from ..records import Document
from .limits import IngestError, IngestLimits


def text_layer(page) -> str:
    # pdfium ends lines with CRLF (a lone CR in some producers) and marks a hyphen at a line
    # end with U+FFFE joined to the next line; give the hyphen its line end back so that the
    # one dehyphenation rule decides ("instäm-|mer" joins, "hälso-|och" stays)
    text = page.get_textpage().get_text_range()
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufffe", "-\n").replace("\xad", "-\n")


LETTER = re.compile(r"[^\W\d_]")
#: a text layer with fewer letters, or mostly other characters, is not used (a scan's page
#: number, or the glyph soup of a broken font encoding)
MIN_LAYER_LETTERS = 8
MIN_LETTER_SHARE = 0.5


def usable_layer(text: str) -> bool:
    letters = len(LETTER.findall(text))
    visible = len("".join(text.split()))
    return letters >= MIN_LAYER_LETTERS and letters >= MIN_LETTER_SHARE * visible


def needs_ocr(page, layer: str, mode: str) -> bool:
    import pypdfium2.raw as pdfium_c

    if mode != "auto":
        return mode == "always"
    # a page without an image has nothing to recognise (a blank or a short signature page)
    has_image = next(page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2), None) is not None
    return has_image and not usable_layer(layer)


def recognise(path: Path, number: int, page, dpi: int) -> tuple[str, float]:
    """Page ``number`` rendered at ``dpi`` and read by Tesseract's Swedish model: its text
    (one line per recognised line) and mean word confidence."""
    import pytesseract
    from PIL import ImageFilter

    # a median filter takes out a scan's isolated specks, which Tesseract reads as dots and colons
    image = page.render(scale=dpi / 72, grayscale=True).to_pil().filter(ImageFilter.MedianFilter(3))
    try:
        data = pytesseract.image_to_data(image, lang="swe", output_type=pytesseract.Output.DICT)
    except pytesseract.TesseractNotFoundError as err:
        raise IngestError(path, f"page {number} needs OCR, but Tesseract is not installed (no 'tesseract' on "
                                "PATH): install tesseract-ocr and tesseract-ocr-swe (make ocr), or use "
                                "--ocr never") from err
    except pytesseract.TesseractError as err:
        raise IngestError(path, f"page {number}: Tesseract failed ({err.message.strip() or err.status}); "
                                "is its Swedish model installed (tesseract-ocr-swe)?") from err
    return _ocr_text(data), _mean_confidence(data)


def _ocr_text(data: dict) -> str:
    # one line per recognised line, as a PDF text layer has them; no blank lines between
    # Tesseract's paragraphs: it breaks paragraphs inside sentences (measured on the seeds), and
    # segment finds paragraphs in line-broken text as it does for text layers
    lines: dict[tuple[int, int, int], list[str]] = {}
    for word, block, par, line in zip(data["text"], data["block_num"], data["par_num"], data["line_num"]):
        if word.strip():
            lines.setdefault((block, par, line), []).append(word.strip())
    return "\n".join(OCR_SECTION.sub("§", OCR_BULLET.sub("• ", " ".join(words))) for words in lines.values())


#: Tesseract reads a bullet "•" as one or two of these (measured on the seeds: "»", "«", "+", "+»");
#: given back so that segment starts a bullet paragraph there, as it does for a text layer
OCR_BULLET = re.compile(r"^[«»+*·•®©°]{1,2}\s+")
#: and "§" beside a number as "$" ("16 kap. 1 $ hälso- och sjukvårdslagen")
OCR_SECTION = re.compile(r"(?<=\d )\$|\$(?= ?\d)")


def _mean_confidence(data: dict) -> float:
    scores = [float(c) for word, c in zip(data["text"], data["conf"]) if word.strip() and float(c) >= 0]
    return round(sum(scores) / len(scores), 1) if scores else 0.0


def ocr_warnings(document: Document, limits: IngestLimits) -> list[str]:
    """A warning for each recognised page whose mean confidence is below ingest.ocr_min_confidence."""
    return [f"page {page} recognised by OCR with mean confidence {conf:.1f} (below ingest.ocr_min_confidence "
            f"{limits.ocr_min_confidence:g}): its text may be wrong"
            for page, conf in zip(document.ocr_pages, document.ocr_confidence) if conf < limits.ocr_min_confidence]
