"""``lexicon``: the Swedish stance cues of labels/ANNOTATION.md and evaluative predicates
("är rimligt"), negation flipping support and oppose, read in the sentence of the passage
nearest to where it names the target. The baseline every learned model has to beat, and the
cue hits a hybrid model (:mod:`.baselines`) and the annotator's highlighting read.
"""
from __future__ import annotations

import json
import re
from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from ..records import LABELS, Target
from .data import Pair, StancePrediction, check_fitted, check_labels, one_hot

# --------------------------------------------------------------------------- lexicon

@dataclass(frozen=True)
class Cue:
    label: str
    pattern: re.Pattern
    #: False where the pattern already contains its negation ("inte … en lösning")
    negatable: bool = True
    #: an evaluation rather than a verdict: decides a sentence only where no verdict does
    #: ("är tveksam till om det är ändamålsenligt" is hesitant)
    weak: bool = False


def _cue(label: str, pattern: str, negatable: bool = True, weak: bool = False) -> Cue:
    return Cue(label, re.compile(pattern), negatable, weak)


#: the cues of ANNOTATION.md (and their inflections) and evaluative predicates, matched on
#: lower-cased text
CUES: tuple[Cue, ...] = (
    _cue("support", r"\btillstyrk\w*"),
    _cue("support", r"\binstämmer\b"),
    # "delar utredningens (grundläggande) bedömning", "delar inte utredningens definition"
    _cue("support", r"\bdelar\b(?:\s+\S+){0,3}?\s+(?:bedömning|uppfattning|syn|beskrivning|definition)\w*"),
    _cue("support", r"\bställer\s+sig\b(?:\s+\S+){0,3}?\s+positiv\w*"),
    _cue("support", r"\bser\b(?:\s+\S+){0,3}?\s+positiv\w*"),
    _cue("support", r"\bär\s+positiv\w*"),
    _cue("support", r"\bvälkomnar\b"),
    _cue("support", r"\bhåller\s+med\b"),
    _cue("support", r"\bhar\s+inget\s+att\s+invända\b", negatable=False),
    # evaluative predicates: "förslaget är rimligt", "det är välkommet att …", "är väl avvägt".
    # Present tense only: "det vore rimligt om …" suggests; "det är rimligt att anta" infers;
    # "(frågan är) om det är rimligt", "huruvida det är rimligt" ask
    _cue("support", r"(?<!\bom det )(?<!\bom detta )(?<!\bhuruvida det )\bär\b(?:\s+(?!om\b|huruvida\b)\S+){0,3}?"
                    r"\s+(?:rimlig|välkom(?:men|met|na)|ändamålsenlig|väl\s+avväg)\w*\b(?!\s+att\s+(?:anta|tro)\b)",
         weak=True),
    _cue("oppose", r"\bavstyrk\w*"),
    _cue("oppose", r"\bmotsätter\s+sig\b"),
    _cue("oppose", r"\b(?:inte|ej)\b(?:\s+\S+){0,6}?\s+(?:en|någon)\s+lösning\b", negatable=False),
    _cue("hesitant", r"\btveksam\w*"),
    _cue("hesitant", r"\bifrågasätter\b"),
    _cue("hesitant", r"\breservation\s+mot\b"),
    _cue("hesitant", r"\bom\s+(?:detta|förslaget|det)\s+ska\s+införas\b[^.]*?\bförst\b", negatable=False),
    _cue("neutral", r"\bavstår\s+från\s+att\s+ta\s+ställning\b", negatable=False),
)

NEGATION = re.compile(r"\b(?:inte|ej|icke)\b")
#: "X delar inte", "X ställer sig inte positiv": the negation follows the finite verb (V2);
#: "att X inte delar": it precedes it in a subordinate clause
NEGATION_AFTER_WORDS = 2
NEGATION_BEFORE_WORDS = 1
#: a negated opinion verb denies the verdict of the att-clause it governs ("ser inte att detta
#: är rimligt", "anser inte heller att förslaget är välkommet"), within one clause (CLAUSE_END)
RAISED_NEGATION = re.compile(
    r"\b(?:(?:inte|ej)(?:\s+heller)?\s+(?:se|ser|anser|tycker|menar|bedömer|finner)"
    r"|(?:ser|anser|tycker|menar|bedömer|finner)\s+(?:\S+\s+)?(?:inte|ej)(?:\s+heller)?)\s+att\b")
#: where a raised negation stops, read on the original text: a sentence's end (punctuation,
#: space, capital: not "4.1.1", "2024:72" or "t.ex. förslaget"), a comma, or a conjunction
#: that may start a new clause ("…, varför vi avstyrker", "… och tillstyrker därför"). Erring
#: short: "anser inte att förslagen om tillsyn och sanktioner är rimliga" is not denied
CLAUSE_END = re.compile(r"[.;:!?](?=\s+[A-ZÅÄÖ\d]|\s*$)|,|(?i:\b(?:och|men|utan|samt|varför|vilket)\b)")
#: "tillstyrker inte" is a rejection, "avstyrker inte" an acceptance, "är inte tveksam" no doubt
FLIP = {"support": "oppose", "oppose": "support", "hesitant": "support", "neutral": "neutral"}


@dataclass(frozen=True)
class CueHit:
    start: int
    label: str
    weak: bool = False


def _negated(text: str, match: re.Match, clause_start: int) -> bool:
    first_word_end = text.find(" ", match.start())
    first_word_end = match.end() if first_word_end < 0 or first_word_end > match.end() else first_word_end
    after = text[first_word_end:].split()[:NEGATION_AFTER_WORDS]
    before = text[: match.start()].split()[-NEGATION_BEFORE_WORDS:]
    inside = text[first_word_end: match.end()]
    return bool(NEGATION.search(" ".join(before + after)) or NEGATION.search(inside)
                or RAISED_NEGATION.search(text, clause_start, match.start()))


def cue_hits(text: str, cues: Sequence[Cue] = CUES) -> list[CueHit]:
    """Every stance cue in ``text``, negation applied, in order of position."""
    lowered = text.lower()
    clause_starts = [0, *(m.end() for m in CLAUSE_END.finditer(text))]
    hits = []
    for cue in cues:
        for match in cue.pattern.finditer(lowered):
            clause_start = clause_starts[bisect_right(clause_starts, match.start()) - 1]
            negated = cue.negatable and _negated(lowered, match, clause_start)
            hits.append(CueHit(match.start(), FLIP[cue.label] if negated else cue.label, cue.weak))
    return sorted(hits, key=lambda h: h.start)


def _sentence_label(hits: Sequence[CueHit]) -> str:
    # the last verdict wins: "är positiv till delar av förslaget men ställer sig tveksam" is
    # hesitant; an evaluation decides only a sentence without a verdict
    verdicts = [h for h in hits if not h.weak]
    return (verdicts or hits)[-1].label


def _mentions(pair: Pair) -> list[int]:
    """Where the passage names the target: its number ("(4.1.1)") or its title, which a
    paragraph under the target's own heading repeats. Only the pair is known here, so the
    title is read back from the target text ("4.1.1 Title. Summary", or "Title. Summary")."""
    from .windows import mentions

    text = pair.target_text
    title = (text[len(pair.target):] if text.startswith(pair.target) else text).strip().split(". ", 1)[0]
    return mentions(pair.text, Target(pair.target, "forslag", title))


#: where the lexicon's decision came from: a cue in the paragraph, in the list's lead-in, or none
RULES = ("cue", "lead-in", "default")


@dataclass
class LexiconBaseline:
    """Cue words. The paragraph's sentences that carry cues are candidates; the one nearest
    (in sentences) to a mention of the target decides, ties going to the earlier sentence
    (verdicts come first). No cue in the paragraph: the list's lead-in ("Socialstyrelsen
    avstyrker:") decides; no cue at all: neutral.

    The label never depends on training. What ``fit`` learns is how far to trust it: for each
    (rule, label) the labels gold gives such pairs, add-one smoothed, become the prediction's
    probabilities (a cue's "support" is right far more often than the default "neutral"), so
    cells get a confidence that means something. Unfitted, the probabilities are one-hot."""

    name = "lexicon"
    #: the fitted state is plain counts: saved as JSON, nothing to unpickle
    FILE = "calibration.json"

    cues: tuple[Cue, ...] = CUES
    default: str = "neutral"
    #: (rule, label) → gold label → count, from fit
    calibration_: dict[tuple[str, str], dict[str, int]] | None = field(default=None, repr=False)

    def fit(self, pairs: Sequence[Pair]) -> "LexiconBaseline":
        labels = check_labels(pairs)
        counts: dict[tuple[str, str], dict[str, int]] = {}
        for pair, gold in zip(pairs, labels):
            row = counts.setdefault(self.decide(pair), dict.fromkeys(LABELS, 0))
            row[gold] += 1
        self.calibration_ = counts
        return self

    def decide(self, pair: Pair) -> tuple[str, str]:
        """(rule, label) for one pair."""
        from ..text.sentences import sentences

        text = pair.text
        spans = sentences(text) or [(0, len(text))]
        hits = cue_hits(text, self.cues)
        by_sentence = [[h for h in hits if start <= h.start < end] for start, end in spans]
        candidates = [i for i, found in enumerate(by_sentence) if found]
        if candidates:
            mentioned = {i for i, (start, end) in enumerate(spans) for m in _mentions(pair) if start <= m < end}
            if mentioned:
                best = min(candidates, key=lambda i: (min(abs(i - j) for j in mentioned), i))
            else:
                best = candidates[0]
            return "cue", _sentence_label(by_sentence[best])
        context = cue_hits(pair.context, self.cues) if pair.context else []
        return ("lead-in", _sentence_label(context)) if context else ("default", self.default)

    def probabilities(self, rule: str, label: str) -> dict[str, float]:
        if self.calibration_ is None:
            return one_hot(label)
        counts = self.calibration_.get((rule, label), dict.fromkeys(LABELS, 0))
        total = sum(counts.values()) + len(LABELS)
        return {name: (counts[name] + 1) / total for name in LABELS}

    def predict(self, pairs: Sequence[Pair]) -> list[StancePrediction]:
        out = []
        for pair in pairs:
            rule, label = self.decide(pair)
            out.append(StancePrediction(label, self.probabilities(rule, label)))
        return out

    def save(self, directory: Path) -> None:
        check_fitted(self, "calibration_")
        rows = [{"rule": rule, "label": label, "gold": counts} for (rule, label), counts in sorted(self.calibration_.items())]
        (Path(directory) / self.FILE).write_text(json.dumps(rows, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, directory: Path, **_) -> "LexiconBaseline":
        path = Path(directory) / cls.FILE
        try:
            rows = json.loads(path.read_text(encoding="utf-8"))
            calibration = {(str(r["rule"]), str(r["label"])): {label: int(r["gold"][label]) for label in LABELS}
                           for r in rows}
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise ValueError(f"{path}: not a lexicon calibration ({type(err).__name__}: {err})") from err
        return cls(calibration_=calibration)
