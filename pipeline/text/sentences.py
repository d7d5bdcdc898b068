"""Swedish sentence boundaries with spaCy, taught the abbreviations remissvar use."""
from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import spacy

#: abbreviations that end with a full stop but not a sentence ("bl.a. regionen", "16 kap. 1 §")
ABBREVIATIONS: frozenset[str] = frozenset({
    "bl.a.", "t.ex.", "m.m.", "o.s.v.", "osv.", "s.k.", "fr.o.m.", "t.o.m.", "d.v.s.", "dvs.",
    "m.fl.", "p.g.a.", "pga.", "inkl.", "exkl.", "resp.", "ca.", "jfr.", "jfr", "prop.", "dnr",
    "dnr.", "kap.", "dir.", "s.", "sid.", "st.", "nr.", "bet.", "ang.", "enl.", "f.d.", "u.a.",
    "a.a.", "o.d.", "bl a", "t ex",
})


@lru_cache(maxsize=1)
def nlp() -> spacy.language.Language:
    """spaCy's Swedish tokenizer plus a rule-based sentencizer; no model download. Imported
    here, not above, so that the stance model's code loads where spaCy is not installed (a
    lent GPU machine, bench/gpu.py)."""
    import spacy
    from spacy.attrs import ORTH

    pipeline = spacy.blank("sv")
    for abbreviation in ABBREVIATIONS:
        if " " not in abbreviation:
            pipeline.tokenizer.add_special_case(abbreviation, [{ORTH: abbreviation}])
    pipeline.add_pipe("sentencizer")
    return pipeline


def sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text``."""
    return list(_sentences(text))


@lru_cache(maxsize=4096)
def _sentences(text: str) -> tuple[tuple[int, int], ...]:
    # memoised: one paragraph is split by the rules, the helhet linker, the ranked linker and
    # then once per linked target by the windows; spaCy's tokenizer is most of that time
    return tuple((s.start_char, s.end_char) for s in nlp()(text).sents)


def ends_sentence(line: str) -> bool:
    """Does this line end a sentence? A trailing abbreviation ("t.ex.") does not."""
    stripped = line.rstrip(" ”\"')»")
    if not stripped or stripped[-1] not in ".!?:":
        return False
    last = stripped.rsplit(" ", 1)[-1].lower()
    return last not in ABBREVIATIONS
