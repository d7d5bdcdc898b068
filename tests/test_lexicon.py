"""The cue lexicon's rules, on constructions of remiss language and on the real gold."""
from __future__ import annotations


import numpy as np
import pytest

from pipeline.stance.lexicon import LexiconBaseline, cue_hits
from pipeline.stance.data import Pair


def pair(text: str, target: str = "4.1.1", context: str = "") -> Pair:
    return Pair(doc="d", paragraph="p1", target=target, target_text=f"{target} Lagkrav på tillgång. Sammanfattning.",
                paragraph_text=text, context=context)


@pytest.mark.parametrize("text, label", [
    ("Socialstyrelsen tillstyrker förslaget.", "support"),
    ("Socialstyrelsen tillstyrker inte förslaget.", "oppose"),
    ("Myndigheten avstyrker förslaget i 4.1.1.", "oppose"),
    ("Regionen delar inte utredningens bedömning.", "oppose"),
    ("Regionen delar utredningens bedömning.", "support"),
    ("VGR instämmer i utredningens förslag.", "support"),
    ("Kommunen ställer sig tveksam till förslaget.", "hesitant"),
    ("Kommunen är inte tveksam till förslaget.", "support"),
    ("Nämnden avstår från att ta ställning till förslaget.", "neutral"),
    ("Nämnden vill lyfta frågan om finansiering.", "neutral"),
    ("Förvaltningen anser att förslaget inte är en lösning på problemet.", "oppose"),
    # evaluative predicates, and the negation an opinion verb raises into its att-clause
    ("Regionen anser att förslaget är rimligt.", "support"),
    ("Det är välkommet att utredningen lämnar förslag om läkarmedverkan.", "support"),
    ("Det är i grunden rimligt att kommunerna inte hindras från att anställa läkare.", "support"),
    ("Det är inte rimligt att kommunen bär kostnaden.", "oppose"),
    ("Myndigheten ser inte att förslaget är ändamålsenligt.", "oppose"),
    ("Kommunen anser inte heller att förslaget är väl avvägt.", "oppose"),
    ("Regionen ser inte att en ny lag behövs, men det är rimligt att kommunerna får anställa läkare.", "support"),
    ("Socialstyrelsen ser inte att något talar emot förslaget och tillstyrker det.", "support"),
    ("Socialstyrelsen ser inte att ändringen behövs, varför myndigheten avstyrker förslaget.", "oppose"),
    ("Vi ser inte att t.ex. förslaget i 4.1.1 är rimligt.", "oppose"),
    # an evaluation yields to a verdict, and an indirect question evaluates nothing
    ("Socialstyrelsen är också tveksam till om det är ändamålsenligt att ha en enskild befattning.", "hesitant"),
    ("Frågan är om det är rimligt att kommunen bär kostnaden.", "neutral"),
    ("Det vore rimligt att utredningen också belyser finansieringen.", "neutral"),
    ("Det är rimligt att anta att kostnaderna ökar.", "neutral"),
])
def test_lexicon_reads_cues_with_negation(text, label):
    assert LexiconBaseline().predict([pair(text)])[0].label == label


def test_lexicon_takes_the_sentence_nearest_the_target():
    text = ("Socialstyrelsen tillstyrker förslaget i 4.1.2. Vad gäller 4.1.1 ställer sig myndigheten tveksam. "
            "Myndigheten välkomnar också en översyn.")
    assert LexiconBaseline().predict([pair(text)])[0].label == "hesitant"


def test_a_bullet_without_cues_takes_its_lists_lead_in():
    bullet = pair("• Lagkrav på tillgång till medicinsk bedömning", context="Socialstyrelsen avstyrker följande förslag:")
    assert LexiconBaseline().predict([bullet])[0].label == "oppose"
    assert cue_hits("") == []


def test_lexicon_on_the_real_gold(stance_pairs):
    """No training, so no folds: its accuracy on all gold statements is its cross-validated accuracy."""
    predictions = LexiconBaseline().fit(stance_pairs).predict(stance_pairs)
    accuracy = np.mean([p.label == s.label for p, s in zip(predictions, stance_pairs)])
    assert accuracy >= 0.70


def test_a_fitted_lexicon_keeps_its_labels_and_trusts_cues_more_than_its_default(stance_pairs):
    unfitted = LexiconBaseline().predict(stance_pairs)
    fitted_model = LexiconBaseline().fit(stance_pairs)
    fitted = fitted_model.predict(stance_pairs)
    assert [p.label for p in fitted] == [p.label for p in unfitted]
    assert all(sum(p.probs.values()) == pytest.approx(1.0) for p in fitted)
    rules = [fitted_model.decide(p) for p in stance_pairs]
    cue_support = [f.probs["support"] for f, r in zip(fitted, rules) if r == ("cue", "support")]
    default_neutral = [f.probs["neutral"] for f, r in zip(fitted, rules) if r == ("default", "neutral")]
    # on the gold, a "tillstyrker"-type cue is right far more often than the fallback to neutral
    assert min(cue_support) > 0.7 and max(default_neutral) < 0.6
    gold_of_default = [p.label for p, r in zip(stance_pairs, rules) if r == ("default", "neutral")]
    assert max(default_neutral) == pytest.approx((gold_of_default.count("neutral") + 1) / (len(gold_of_default) + 4))
