"""Link recall and precision on the seeds as given and on the number-free seeds, per registry
and linker, and the min_z calibration sweep; written to bench/results/linking.json.

    python -m bench.linking

Registries: ``hand`` (corpus/proposals, aliases written after reading the seeds), ``titles``
(the same targets with titles and summaries only: what a user has before reading a response)
and ``draft`` (what `remiss registry draft` makes of the seed responses and the report's
summary chapter, unreviewed). Linkers: rules only; ranking by e5 alone, by TF-IDF alone, and
fused (the default). The draft is also compared with the hand registry: recall of the ids the
responses cite, and the similarity of the titles of the ids both hold. Document cells end to
end per corpus and registry, with the hybrid stance model trained on the authored rows only.
``--cross-encoder ROWS`` also trains the reranker on ROWS authored rows and measures it.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from difflib import SequenceMatcher
from pathlib import Path

from pipeline.embed import E5
from pipeline.aggregate import aggregate
from pipeline.classify import classify
from pipeline.evaluate import document_metrics
from pipeline.gold import load_document_cells, load_statements, norm
from pipeline.ingest import ingest_file
from pipeline.link import LinkParams, link
from pipeline.link.numberfree import titles_only, without_quote_numbers, without_section_numbers
from pipeline.link.quality import link_quality
from pipeline.link.ranking import FusedRanker, default_ranker
from pipeline.link.rerank import CrossEncoderRanker, train_cross_encoder
from pipeline.link.rules import cited_numbers, resolve
from pipeline.params import load_section
from pipeline.records import atomic_write_text
from pipeline.referral import Referral, load_referral
from pipeline.referral.draft import draft_registry, draft_yaml
from pipeline.segment import segment
from pipeline.stance.authored import authored_pairs, load_authored
from pipeline.stance.models import create

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "linking.json"
SUMMARY = ROOT / "corpus/referral/sou-2024-72-sammanfattning.md"
SWEEP = (1.5, 1.75, 2.0, 2.25, 2.5, 3.0)


def measure(paragraphs, statements, referral, params, ranker=None) -> dict:
    start = time.perf_counter()
    links = link(paragraphs, referral, params, ranker=ranker)
    quality = link_quality(statements, paragraphs, links)
    return {"recall": quality.recall, "precision": quality.precision, "links": len(links),
            "seconds": round(time.perf_counter() - start, 2)}


def draft_against_hand(draft: Referral, hand: Referral, paragraphs) -> dict:
    cited = {resolve(n, hand)[0] for p in paragraphs for _, n in cited_numbers(p.text) if resolve(n, hand)}
    both = sorted(draft.ids & hand.ids, key=lambda i: [int(x) for x in i.split(".")])
    similarity = {i: round(SequenceMatcher(None, draft.get(i).title.lower(), hand.get(i).title.lower()).ratio(), 3)
                  for i in both}
    return {"cited_ids": len(cited), "cited_ids_drafted": len(cited & draft.ids),
            "hand_ids_drafted": f"{len(both)}/{len(hand.ids)}", "extra_drafted_ids": sorted(draft.ids - hand.ids),
            "title_similarity_mean": round(sum(similarity.values()) / len(similarity), 3),
            "title_similarity": similarity}


def holding_gold(paragraphs, statements) -> list:
    quotes = {(s.doc, norm(s.quote)) for s in statements}
    return [p for p in paragraphs if any(doc == p.doc and q in norm(p.text) for doc, q in quotes)]


def cell_scores(paragraphs, referral, params, model, gold_cells) -> dict:
    """Document × target cells end to end (link → classify → aggregate) against the gold cells."""
    links = link(paragraphs, referral, params)
    cells = aggregate(classify(links, paragraphs, referral, model), paragraphs, referral)[0]
    scores = document_metrics(cells, gold_cells)
    return {k: scores[k] for k in ("accuracy", "addressed_recall", "filled_not_in_gold")}


def cross_encoder(rows: int, epochs: int, out_dir: Path) -> dict:
    """Train the reranker on ``rows`` authored rows (label-stratified sample) into ``out_dir``."""
    from pipeline.stance.authored import subsample
    from pipeline.stance.backbones import resolve_backbone

    authored = subsample(load_authored(ROOT / "labels/authored"), rows, seed=13)
    start = time.perf_counter()
    train_cross_encoder(authored, resolve_backbone("bundled:multilingual-e5-small", ROOT / "models"), out_dir,
                        epochs=epochs)
    return {"rows": len(authored), "pairs": 2 * len(authored), "epochs": epochs,
            "train_seconds": round(time.perf_counter() - start, 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cross-encoder", type=int, metavar="ROWS", default=0,
                    help="also train the cross-encoder reranker on this many authored rows and measure it")
    ap.add_argument("--epochs", type=int, default=1, help="the cross-encoder's epochs")
    args = ap.parse_args()
    config = load_section(ROOT / "params.yaml", "link", LinkParams)
    hand = load_referral(ROOT / "corpus/proposals/sou-2024-72.yaml")
    statements = load_statements(ROOT / "labels/gold/statements.yaml")
    documents = [ingest_file(p) for p in sorted((ROOT / "corpus/responses").glob("*.txt"))]
    seed_paragraphs = [p for d in documents for p in segment(d)]
    with tempfile.TemporaryDirectory() as tmp:
        draft_path = Path(tmp) / "draft.yaml"
        atomic_write_text(draft_path, draft_yaml(draft_registry(seed_paragraphs, SUMMARY.read_text(encoding="utf-8"))))
        draft = load_referral(draft_path)
    registries = {"hand": hand, "titles": titles_only(hand), "draft": draft}
    corpora = {
        "seed": (seed_paragraphs, statements),
        "number_free": ([p for d in documents for p in segment(without_section_numbers(d))],
                        [without_quote_numbers(s) for s in statements]),
    }
    linkers = {"rules": dataclasses.replace(config, semantic=False),
               "e5_ranked": dataclasses.replace(config, lexical_weight=0.0),
               "tfidf_ranked": dataclasses.replace(config, lexical_weight=1.0),
               "fused_ranked": config}
    table = {corpus: {registry: {name: measure(*corpora[corpus], referral, params)
                                 for name, params in linkers.items()}
                      for registry, referral in registries.items()}
             for corpus in corpora}
    # the stance model of the unseen-referral protocol (authored rows only: it has seen no
    # seed statement), so that the cells measure linking on responses new to every part
    model = create("hybrid").fit(authored_pairs(load_authored(ROOT / "labels/authored")))
    gold_cells = load_document_cells(ROOT / "labels/gold/documents.yaml")
    document_cells = {corpus: {registry: cell_scores(corpora[corpus][0], referral, config, model, gold_cells)
                               for registry, referral in registries.items()}
                      for corpus in corpora}
    reranker = {}
    if args.cross_encoder:
        with tempfile.TemporaryDirectory() as tmp:
            reranker = cross_encoder(args.cross_encoder, args.epochs, Path(tmp))
            cross = CrossEncoderRanker(Path(tmp))
            both = FusedRanker([default_ranker(E5, config.lexical_weight), cross], [0.5, 0.5])
            for corpus, (paragraphs, gold) in corpora.items():
                # only the paragraphs holding gold statements, the only ones recall and precision
                # read (one forward pass per text × target pair is minutes per corpus on 2 cores);
                # the bi-encoders on the same paragraphs, for a like-for-like comparison
                held = holding_gold(paragraphs, gold)
                for name, ranker in (("fused_ranked", None), ("cross_encoder", cross),
                                     ("fused_and_cross_encoder", both)):
                    table[corpus]["titles"][f"{name}_on_gold_paragraphs"] = measure(
                        held, gold, registries["titles"], config, ranker)
    sweep = {str(z): measure(*corpora["number_free"], registries["titles"], dataclasses.replace(config, min_z=z))
             for z in SWEEP}
    command = "python -m bench.linking" + (f" --cross-encoder {args.cross_encoder} --epochs {args.epochs}"
                                           if args.cross_encoder else "")
    result = {"command": command, "cross_encoder_training": reranker, "draft_against_hand": draft_against_hand(draft, hand, seed_paragraphs),
              "params": dataclasses.asdict(config), "statements": len([s for s in statements if s.target != "*"]),
              "results": table, "document_cells_hybrid_authored_only": document_cells,
              "min_z_sweep_number_free_titles": sweep}
    atomic_write_text(OUT, json.dumps(result, ensure_ascii=False, indent=1) + "\n")
    for corpus, by_registry in table.items():
        for registry, by_linker in by_registry.items():
            row = "  ".join(f"{n} {r['recall']:.3f}/{r['precision']:.3f}" for n, r in by_linker.items())
            print(f"{corpus:12} {registry:7} {row}")
    print("cells:", {c: {r: v["accuracy"] for r, v in by.items()} for c, by in document_cells.items()})
    print("draft:", {k: v for k, v in result["draft_against_hand"].items() if k != "title_similarity"})
    print("min_z sweep (number-free, titles):", {z: (r["recall"], r["precision"]) for z, r in sweep.items()})
    print(f"→ {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
