"""Link recall and precision on the seeds as given and on the number-free seeds, per registry
and linker, and the min_z calibration sweep; written to bench/results/linking.json.

    python -m bench.linking

Registries: ``hand`` (corpus/proposals, aliases written after reading the seeds), ``titles``
(the same targets with titles and summaries only: what a user has before reading a response)
and ``draft`` where given (``--draft``, a `remiss registry draft` output). Linkers: rules only;
ranking by e5 alone, by TF-IDF alone, and fused (the default).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

from pipeline.gold import load_statements
from pipeline.ingest import ingest_file
from pipeline.link import LinkParams, link
from pipeline.link.numberfree import without_quote_numbers, without_section_numbers
from pipeline.link.quality import link_quality
from pipeline.params import load_section
from pipeline.records import atomic_write_text
from pipeline.registry import Referral, load_referral
from pipeline.segment import segment

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "linking.json"
SWEEP = (1.5, 1.75, 2.0, 2.25, 2.5, 3.0)


def titles_only(referral: Referral) -> Referral:
    return dataclasses.replace(referral, targets=tuple(
        dataclasses.replace(t, aliases=(), alt_titles=()) for t in referral.targets))


def measure(paragraphs, statements, referral, params) -> dict:
    start = time.perf_counter()
    links = link(paragraphs, referral, params)
    quality = link_quality(statements, paragraphs, links)
    return {"recall": quality.recall, "precision": quality.precision, "links": len(links),
            "seconds": round(time.perf_counter() - start, 2)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draft", type=Path, help="a drafted registry to measure beside the hand one")
    args = ap.parse_args()
    config = load_section(ROOT / "params.yaml", "link", LinkParams)
    hand = load_referral(ROOT / "corpus/proposals/sou-2024-72.yaml")
    registries = {"hand": hand, "titles": titles_only(hand)}
    if args.draft:
        registries["draft"] = load_referral(args.draft)
    statements = load_statements(ROOT / "labels/gold/statements.yaml")
    documents = [ingest_file(p) for p in sorted((ROOT / "corpus/responses").glob("*.txt"))]
    corpora = {
        "seed": ([p for d in documents for p in segment(d)], statements),
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
    sweep = {str(z): measure(*corpora["number_free"], registries["titles"], dataclasses.replace(config, min_z=z))
             for z in SWEEP}
    result = {"command": "python -m bench.linking" + (f" --draft {args.draft}" if args.draft else ""),
              "params": dataclasses.asdict(config), "statements": len([s for s in statements if s.target != "*"]),
              "results": table, "min_z_sweep_number_free_titles": sweep}
    atomic_write_text(OUT, json.dumps(result, ensure_ascii=False, indent=1) + "\n")
    for corpus, by_registry in table.items():
        for registry, by_linker in by_registry.items():
            cells = "  ".join(f"{n} {r['recall']:.3f}/{r['precision']:.3f}" for n, r in by_linker.items())
            print(f"{corpus:12} {registry:7} {cells}")
    print("min_z sweep (number-free, titles):", {z: (r["recall"], r["precision"]) for z, r in sweep.items()})
    print(f"→ {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
