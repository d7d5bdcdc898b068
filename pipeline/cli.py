"""The ``remiss`` command: one thin subcommand per stage. Files are read and written here;
the stages themselves are pure functions over records."""
from __future__ import annotations

import argparse
import logging
import sys
from collections import Counter
from pathlib import Path
from typing import Callable

from .ingest import IngestError, find_responses, ingest_args, ingest_cmd, ingest_file
from .link import LinkParams, link
from .params import load_section
from .records import Document, Paragraph, atomic_write_text, read_jsonl, write_jsonl
from .referral import load_referral
from .referral.draft import draft_registry, draft_yaml
from .aggregate import aggregate_args, aggregate_cmd
from .annotation.commands import add_corrections_args, corrections_cmd
from .annotation.app import annotate_args, annotate_cmd
from .classify import classify_args, classify_cmd
from .evaluate import evaluate_args, evaluate_cmd
from .report import report_args, report_cmd
from .score import score_args, score_cmd
from .stance.train import train_args, train_cmd
from .segment import segment

log = logging.getLogger("remiss")
Command = Callable[[argparse.Namespace], int]
Configure = Callable[[argparse.ArgumentParser], None]


def _segment_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--documents", type=Path, default=Path("data/ingested.jsonl"))
    p.add_argument("--out", type=Path, default=Path("data/paragraphs.jsonl"))


def segment_cmd(args: argparse.Namespace) -> int:
    documents = read_jsonl(args.documents, Document)
    paragraphs = [p for document in documents for p in segment(document)]
    write_jsonl(args.out, paragraphs)
    log.info("%d paragraphs from %d documents → %s", len(paragraphs), len(documents), args.out)
    return 0


def _link_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--paragraphs", type=Path, default=Path("data/paragraphs.jsonl"))
    p.add_argument("--referral", type=Path, required=True, help="registry YAML of the referral's targets")
    p.add_argument("--out", type=Path, default=Path("data/links.jsonl"))
    p.add_argument("--params", type=Path, default=Path("params.yaml"), help="reads its 'link' section")
    p.add_argument("--no-semantic", dest="semantic", action="store_false", default=None,
                   help="skip the semantic (e5) linker")


def link_cmd(args: argparse.Namespace) -> int:
    params = load_section(args.params, "link", LinkParams, semantic=args.semantic)
    paragraphs = read_jsonl(args.paragraphs, Paragraph)
    links = link(paragraphs, load_referral(args.referral), params)
    write_jsonl(args.out, links)
    log.info("%d links on %d paragraphs → %s", len(links), len({(l.doc, l.paragraph) for l in links}), args.out)
    return 0


def _registry_args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    d = sub.add_parser("draft", help="draft a registry YAML from the referral's text and the responses",
                       description="Draft a registry for review: ids, titles, kinds, summaries, each "
                                   "target with its sources and a confidence.")
    d.add_argument("responses", nargs="+", type=Path, help="response files or folders (.txt, .pdf, .docx)")
    d.add_argument("--report", type=Path, help="the referral's own text (.pdf, .txt or .md), if at hand")
    d.add_argument("--id", default="", help='the referral\'s id, e.g. "SOU 2024:72"')
    d.add_argument("--title", default="", help="the referral's title")
    d.add_argument("--out", type=Path, required=True, help="where to write the draft YAML")
    d.add_argument("--force", action="store_true", help="overwrite an existing file")


def registry_cmd(args: argparse.Namespace) -> int:
    if args.out.exists() and not args.force:
        raise ValueError(f"{args.out}: exists; a draft never overwrites a registry (use --force)")
    paragraphs: list[Paragraph] = []
    files, skipped = find_responses(args.responses)
    for entry in skipped:
        log.warning("skipped %s: %s", entry.file, entry.problem)
    for path in files:
        try:
            paragraphs += segment(ingest_file(path))
        except IngestError as err:
            log.warning("skipped %s", err)
    report = ""
    if args.report:
        # a PDF or DOCX through its reader; text and Markdown as they are (headings and all)
        binary = args.report.suffix.lower() in (".pdf", ".docx")
        report = ingest_file(args.report).text if binary else args.report.read_text(encoding="utf-8")
    registry = draft_registry(paragraphs, report, str(args.report or ""), args.id, args.title)
    atomic_write_text(args.out, draft_yaml(registry))
    load_referral(args.out)  # the draft is a valid registry
    counts = Counter(t["confidence"] for t in registry["targets"])
    log.info("%d targets drafted (%s) → %s; review it before linking", len(registry["targets"]),
             ", ".join(f"{n} {c}" for c, n in counts.items()), args.out)
    return 0


#: subcommand → (help, arguments, run); a new stage is one entry
COMMANDS: dict[str, tuple[str, Configure, Command]] = {
    "ingest": ("response files → clean text", ingest_args, ingest_cmd),
    "segment": ("clean text → paragraphs", _segment_args, segment_cmd),
    "link": ("paragraphs → target links", _link_args, link_cmd),
    "train": ("gold statements + corrections → fine-tuned stance model", train_args, train_cmd),
    "classify": ("links → paragraph-level stance predictions", classify_args, classify_cmd),
    "aggregate": ("predictions → document × target cells", aggregate_args, aggregate_cmd),
    "report": ("cells → remissammanställning (CSV, XLSX, HTML, heatmap)", report_args, report_cmd),
    "evaluate": ("leave-one-document-out cross-validation of every model → metrics/", evaluate_args, evaluate_cmd),
    "score": ("response files → everything above, resumable, without DVC (batch scoring)", score_args, score_cmd),
    "registry": ("draft a referral's registry of targets for review", _registry_args, registry_cmd),
    "corrections": ("what annotators' corrections change, and their agreement", add_corrections_args,
                    corrections_cmd),
    "annotate": ("the annotator's screen as an app on localhost (Voilà): review, correct, retrain", annotate_args,
                 annotate_cmd),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="remiss", description="Stance analysis of Swedish consultation responses.")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (help, configure, func) in COMMANDS.items():
        p = sub.add_parser(name, help=help, description=help)
        configure(p)
        p.set_defaults(func=func)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(levelname)s %(message)s")
    try:
        return args.func(args)
    except (OSError, ValueError) as err:
        # a clear one-line message naming the file; nothing written so far is touched
        log.error("%s", err)
        return 2


if __name__ == "__main__":
    sys.exit(main())
