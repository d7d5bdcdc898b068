"""The number-free stand-in for a new referral: a response with every section number taken out.

Most remissvar outside the seeds cite no section numbers (municipalities, unions, smaller
organisations name a proposal by paraphrase), while one seed response prints every one. This
deterministic transform removes section numbers, the word that introduces them ("avsnitt
5.4", "kapitel 7") and numbered heading prefixes ("4.2.3 Avtalen …" → "Avtalen …") and leaves
every other character as it was, so the seed gold can measure a linker that cannot lean on
numbers. Law and document references ("16 kap. 1 §", "SOU 2024:72", "dnr 2024/1303-1.1"),
dates, times, amounts and page numbers are not section numbers and stay.
"""
from __future__ import annotations

import re
from dataclasses import replace

from ..records import Document, Statement
from ..referral import Referral

#: a dotted section number, not part of a date, a decimal, a diary number or a law reference
_DOTTED = r"(?<![\w.:/-])(?<!kl\.\s)(?<!klockan\s)\d{1,2}(?:\.\d{1,2}){1,3}(?![\w:/-]|\.\d)"
_SINGLE = r"(?<![\w.:/-])\d{1,2}(?![\w.:/-])"
_NUMBERS = rf"(?:{_DOTTED}|{_SINGLE})(?:\s*(?:,|och|–|-|samt)\s*(?:{_DOTTED}|{_SINGLE}))*"
#: "avsnitt 5.4", "avsnitten 4.1 och 4.2", "kapitel 7": the word goes with its numbers
SECTION_REFERENCE = re.compile(rf"\b(?:avsnitt(?:et|en)?|kapitel|kapitlet)\s+{_NUMBERS}", re.I)
#: "(4.1.1)" and "(avsnitt 7.2.1)": the parentheses go too
PARENTHESISED = re.compile(rf"\s*\((?:avsnitt(?:et|en)?\s+|kapitel\s+)?{_NUMBERS}\)")
#: a numbered heading's prefix at the start of a line: "4.2.3 Avtalen …", " 5.4 Det ska …", "8 Konsekvenser"
HEADING_PREFIX = re.compile(r"(?m)^([ \t]*)\d{1,2}(?:\.\d{1,2}){0,3}\.?[ \t]+(?=[A-ZÅÄÖ])")
#: any dotted number left in running text ("som nämns under 7.1.1", "Se även 4.3.")
DOTTED = re.compile(rf"[ \t]*{_DOTTED}")


def remove_section_numbers(text: str) -> str:
    """``text`` without section numbers; deterministic, idempotent, line breaks kept."""
    text = PARENTHESISED.sub("", text)
    text = SECTION_REFERENCE.sub("", text)
    text = HEADING_PREFIX.sub(r"\1", text)
    text = DOTTED.sub("", text)
    # what the removal left: a space before punctuation, doubled spaces inside a line
    text = re.sub(r"[ \t]+(?=[.,;:)])", "", text)
    return re.sub(r"(?<=\S)[ \t]{2,}(?=\S)", " ", text)


def without_section_numbers(document: Document) -> Document:
    """The response as its author might have written it without citing a single number."""
    body = remove_section_numbers(document.text[: document.body_end])
    notes = remove_section_numbers(document.text[document.body_end:])
    return replace(document, text=body + notes, body_end=len(body))


def without_quote_numbers(statement: Statement) -> Statement:
    """A gold statement on the number-free response: its quote transformed the same way."""
    return replace(statement, quote=remove_section_numbers(statement.quote))


def titles_only(referral: Referral) -> Referral:
    """The registry a user has before reading any response: titles and summaries, none of the
    aliases (the seed registry's were written after reading the seeds)."""
    return replace(referral, targets=tuple(replace(t, aliases=(), alt_titles=()) for t in referral.targets))
