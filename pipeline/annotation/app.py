"""The annotator's screen (notebooks/annotate.ipynb) and ``remiss annotate``, which serves that
notebook as an app without code (Voilà) on localhost.

The notebook stays an ordinary notebook: its parameters cell sets the paths, and
:meth:`Settings.from_parameters` lays over them the config file ``remiss annotate`` wrote
(``$REMISS_ANNOTATE_CONFIG``) and the annotator's name from the app's URL
(``?annotator=anna``: Voilà hands each page's query string to its kernel), so one server
serves any number of annotators, each page its own kernel and correction file.

:class:`AnnotatorApp` is the screen: the item (:func:`pipeline.annotation.render.item_html`), the
keys, progress (done / queue, per target), every ``agreement_every`` decisions the
agreement with the other annotators and with gold, and retraining: ``r`` runs ``remiss
train`` on gold + corrections (+ the authored rows) into a new model directory and
``remiss classify`` with it, in the background, then re-ranks the queue by the new model's
uncertainty. Everything decided is on disk first (:class:`pipeline.annotation.log.CorrectionLog`).
"""
from __future__ import annotations

import argparse
import html
import json
import os
import subprocess
import sys
import tempfile
import threading
import warnings
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import Sequence
from urllib.parse import parse_qs, quote

from ..records import LABELS, Paragraph, Prediction, atomic_write_text, read_jsonl
from .agreement import agreement, cohen_kappa, format_kappa
from .log import CorrectionLog, LogRead, check_annotator, predictions_version
from .merge import collect_votes, pair_key
from .queue import ORDERS, Item, Key, build_queue
from .render import item_html
from .session import KEYS, AnnotationSession

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "annotate.ipynb"
CONFIG_ENV = "REMISS_ANNOTATE_CONFIG"
#: the app's own key (the others are :data:`pipeline.annotation.session.KEYS`)
RETRAIN_KEY = "r"
SCREEN_KEYS = {**KEYS, RETRAIN_KEY: "retrain the model on gold + corrections, then re-rank the queue"}


@dataclass
class Settings:
    """What the notebook's parameters cell sets, by the same names in lower case."""

    predictions: Path
    paragraphs: Path
    referral: Path
    gold: Path
    corrections: Path
    annotator: str = ""
    order: str = "uncertainty"
    doc: str | None = None
    target: str | None = None
    stance: str | None = None
    speaker: str | None = None
    only_disagreements: bool = False
    model_version: str | None = None
    #: retraining: the links to classify, the deployed model (its kind is what is retrained,
    #: unless retrain_model names another), the authored rows, params.yaml, where new models go
    links: Path = Path("data/links.jsonl")
    model: Path = Path("models/stance")
    retrain_model: str | None = None
    authored: Path = Path("labels/authored")
    train_params: Path = Path("params.yaml")
    retrain_dir: Path = Path("models/annotate")
    #: the agreement is recomputed after every this many decisions
    agreement_every: int = 10
    root: Path = Path(".")

    PATHS = ("predictions", "paragraphs", "referral", "gold", "corrections", "links", "model", "authored",
             "train_params", "retrain_dir")

    @classmethod
    def from_parameters(cls, parameters: dict, root: Path) -> "Settings":
        """The notebook's parameters (upper-case names), then the config file ``remiss
        annotate`` wrote, then ``?annotator=`` from the page's URL; relative paths are
        relative to ``root``, the repository."""
        values = {name.lower(): value for name, value in parameters.items()}
        if os.environ.get(CONFIG_ENV):
            values.update({k.lower(): v for k, v in
                           json.loads(Path(os.environ[CONFIG_ENV]).read_text(encoding="utf-8")).items()})
        from_url = parse_qs(os.environ.get("QUERY_STRING", "")).get("annotator")
        if from_url:
            values["annotator"] = from_url[0]
        if values.get("referral") is None:  # the referral the pipeline ran on
            import yaml

            values["referral"] = yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8"))["referral"]
        known = {f.name for f in fields(cls)} - {"root"}
        settings = cls(**{k: v for k, v in values.items() if k in known}, root=root)
        for name in cls.PATHS:
            path = Path(getattr(settings, name))
            setattr(settings, name, path if path.is_absolute() else root / path)
        return settings


def gold_agreement(read: LogRead, annotator: str, gold: Sequence, paragraphs: Sequence[Paragraph],
                   referral) -> dict:
    """How often the annotator's latest decisions match gold on the keys gold labels:
    ``{"n", "agree", "kappa"}`` (a decision of no stance on a gold key disagrees)."""
    votes, _ = collect_votes({annotator: read}, paragraphs, referral)
    labels = {pair_key(p): p.label for p in gold}
    both = [(labels[key], v[annotator].outcome) for key, v in votes.items() if key in labels and annotator in v]
    if not both:
        return {"n": 0, "agree": 0, "kappa": float("nan")}
    return {"n": len(both), "agree": sum(g == o for g, o in both),
            "kappa": cohen_kappa([g for g, _ in both], [o for _, o in both])}


class AnnotatorApp:
    """One annotator's screen. Every handler runs under one lock: the retraining thread
    swaps the queue under it too, so a key press never sees half a swap."""

    def __init__(self, settings: Settings):
        import ipywidgets as W

        self.s = settings
        self.predictions = read_jsonl(settings.predictions, Prediction)
        self.paragraphs = read_jsonl(settings.paragraphs, Paragraph)
        self.model_version = settings.model_version or predictions_version(settings.predictions)
        self.session: AnnotationSession | None = None
        self.training: threading.Thread | None = None
        self._lock = threading.RLock()
        self._full: list[Item] = []  # the queue with the decided items, for progress
        self._done: set[Key] = set()
        self._written = 0  # decisions this screen wrote, for the agreement every N

        def options(values):
            return [("(all)", None)] + [(str(v), v) for v in sorted({v for v in values if v})]

        referrals = sorted(str(p) for p in (settings.root / "corpus" / "proposals").glob("*.yaml"))
        self.w_annotator = W.Text(value=settings.annotator, description="annotator", placeholder="your name")
        self.w_referral = W.Dropdown(options=sorted({*referrals, str(settings.referral)}), value=str(settings.referral),
                                     description="referral")
        self.w_doc = W.Dropdown(options=options(p.doc for p in self.predictions), value=settings.doc,
                                description="response")
        self.w_order = W.ToggleButtons(options=list(ORDERS), value=settings.order, description="order")
        self.w_target = W.Dropdown(options=options(p.target for p in self.predictions), value=settings.target,
                                   description="target")
        self.w_stance = W.Dropdown(options=[("(all)", None)] + [(l, l) for l in LABELS], value=settings.stance,
                                   description="predicted")
        self.w_speaker = W.Dropdown(options=options(p.speaker for p in self.predictions), value=settings.speaker,
                                    description="speaker")
        self.w_only = W.Checkbox(value=settings.only_disagreements, description="only disagreements (adjudicate)")
        self.w_start = W.Button(description="Start / resume", button_style="primary")
        # the test (and CSS) find the parts of the screen by these classes
        self.w_progress = W.HTML().add_class("remiss-progress")
        self.w_model = W.HTML().add_class("remiss-model")
        self.w_agreement = W.HTML().add_class("remiss-agreement")
        self.w_item = W.HTML().add_class("remiss-item")
        self.w_status = W.HTML().add_class("remiss-status")
        self.w_keys = W.Text(placeholder="keys: click here and type 1-4, Enter, n, x, t, s, b, r", description="keys",
                             continuous_update=True).add_class("remiss-keys")
        self.w_speaker_field = W.Text(description="speaker", placeholder="who holds the position")
        self.w_note = W.Text(description="note", placeholder="optional: why (borderline cases)")
        self.w_new_target = W.Dropdown(description="new target", options=[("(choose)", None)])
        self.w_new_target.add_class("remiss-new-target")
        self.w_retarget_stance = W.Dropdown(description="its label",
                                            options=[("(as predicted)", None)] + [(l, l) for l in LABELS])
        self.buttons = {label: W.Button(description=f"{n} {label}") for n, label in enumerate(LABELS, 1)}
        self.buttons.update({
            "enter": W.Button(description="⏎ accept", button_style="success"),
            "n": W.Button(description="n not a stance"), "x": W.Button(description="x wrong target"),
            "t": W.Button(description="t change target"), "s": W.Button(description="s skip"),
            "b": W.Button(description="b back"), RETRAIN_KEY: W.Button(description="r retrain", button_style="info")})

        self.w_start.on_click(lambda _b: self.start())
        for key, button in self.buttons.items():
            button.on_click(lambda _b, key=key: self.press(str(LABELS.index(key) + 1) if key in LABELS else key))
        self.w_keys.observe(self._on_keys, names="value")
        with warnings.catch_warnings():  # on_submit is deprecated, yet it is the only Enter event a Text has
            warnings.simplefilter("ignore", DeprecationWarning)
            self.w_keys.on_submit(lambda _w: self.press("enter"))
        legend = " · ".join(f"<b>{html.escape(k)}</b> {html.escape(v)}" for k, v in SCREEN_KEYS.items())
        self.ui = W.VBox([
            W.HBox([self.w_annotator, self.w_referral, self.w_doc]),
            W.HBox([self.w_order, self.w_target, self.w_stance, self.w_speaker]),
            W.HBox([self.w_only, self.w_start]), self.w_progress, self.w_model, self.w_agreement, W.HTML("<hr>"),
            self.w_item, W.HBox([self.buttons[l] for l in LABELS] + [self.buttons["enter"]]),
            W.HBox([self.buttons[k] for k in ("n", "x", "s", "b", RETRAIN_KEY)]),
            W.HBox([self.w_new_target, self.w_retarget_stance, self.buttons["t"]]),
            W.HBox([self.w_speaker_field, self.w_note]), self.w_keys, self.w_status,
            W.HTML(f"<small class='remiss-legend'>keys: {legend}</small>"),
        ])
        self._show_model(f"model: {html.escape(self.model_version)}")
        self.show()
        if settings.annotator:  # the app's URL named the annotator: no need to press Start
            self.start()

    # -- screen ---------------------------------------------------------------------------

    def status(self, message: str, error: bool = False) -> None:
        """One line under the item: what just happened, or what went wrong (the item stays)."""
        left = f" · {self.session.remaining} left" if self.session and not error else ""
        style = "color:#b00;font-weight:bold" if error else ""
        self.w_status.value = f"<span style='{style}'>{html.escape(message)}{left}</span>"

    def show(self) -> None:
        """The session's current item, its fields reset (or that the queue is done), and progress."""
        session = self.session
        item = session.current if session else None
        if session is None:
            self.w_item.value = "<i>Type your name and press Start / resume.</i>"
        elif item is None:
            self.w_item.value = (f"<b>Done.</b> {len(session.decisions)} decisions this session, saved in "
                                 f"<code>{html.escape(str(session.log.path))}</code>.")
        else:
            self.w_item.value = item_html(item)
            self.w_speaker_field.value = item.speaker or ""
            self.w_note.value = ""
            self.w_retarget_stance.value = None
        self.w_progress.value = self.progress_html()

    def progress_html(self) -> str:
        """The annotator, done / queue, and the same per target (registry order)."""
        if self.session is None:
            return ""
        done = [i for i in self._full if i.key in self._done]
        per_target = {}
        for item in self._full:
            counts = per_target.setdefault(item.target, [0, 0])
            counts[0] += item.key in self._done
            counts[1] += 1
        order = {t.id: n for n, t in enumerate(self.session.referral.targets)}
        cells = " ".join(f"<span style='margin-right:1em;white-space:nowrap'>{html.escape(t)}: {d}/{n}</span>"
                         for t, (d, n) in sorted(per_target.items(), key=lambda tc: order[tc[0]]))
        return (f"<div><b>{html.escape(self.session.annotator)}</b> · {len(done)} done / {len(self._full)} in queue"
                f" · correction file {html.escape(str(self.session.log.path))}</div><div>per target: {cells}</div>")

    def agreement_html(self) -> str:
        """This annotator's agreement with each other annotator (Cohen's kappa, stance or none)
        and with gold, where they overlap."""
        session = self.session
        report = agreement(self.s.corrections, self.paragraphs, session.referral)
        me = session.annotator
        parts = [f"{html.escape(r['b'] if r['a'] == me else r['a'])}: κ {format_kappa(r['kappa'], 2)} on {r['n']}"
                 for r in report.cohen if r["labels"] == "stance or none" and me in (r["a"], r["b"])]
        g = gold_agreement(session.log.read(), me, self.gold_for(session.referral), self.paragraphs, session.referral)
        parts.append(f"gold: {g['agree']}/{g['n']} agree, κ {format_kappa(g['kappa'], 2)}")
        return (f"<div>agreement after {len(self._done)} decisions (every {self.s.agreement_every}): "
                f"{' · '.join(parts)}</div>")

    def gold_for(self, referral) -> list:
        """The gold pairs on ``referral`` (none where gold is for another referral or segmentation)."""
        from ..gold import load_statements
        from ..stance.data import GoldPairError, gold_pairs

        try:
            return gold_pairs(load_statements(self.s.gold), self.paragraphs, referral)
        except (GoldPairError, OSError):  # gold for another referral or segmentation, or none
            return []

    def _show_model(self, text_html: str) -> None:
        self.w_model.value = f"<div>{text_html}</div>"

    # -- actions --------------------------------------------------------------------------

    def start(self) -> None:
        """Build the queue for the chosen filters, without the items this annotator already decided."""
        with self._lock:
            try:
                annotator = check_annotator(self.w_annotator.value)
            except ValueError as err:
                self.status(str(err), error=True)
                return
            from ..referral import load_referral

            referral = load_referral(Path(self.w_referral.value))
            log = CorrectionLog.for_annotator(self.s.corrections, annotator)
            read = log.read()
            only = None
            if self.w_only.value:
                report = agreement(self.s.corrections, self.paragraphs, referral)
                only = {(r["doc"], r["paragraph"], r["target"]) for r in report.disagreements}
            self._full = build_queue(self.predictions, self.paragraphs, referral, order=self.w_order.value,
                                       target=self.w_target.value, stance=self.w_stance.value,
                                       speaker=self.w_speaker.value, doc=self.w_doc.value, only=only)
            self._done = {d.key for d in read.decisions}
            queue = [i for i in self._full if i.key not in self._done]
            self.session = AnnotationSession(queue, log, annotator, referral, model_version=self.model_version)
            self.w_new_target.options = [("(choose)", None)] + [(f"{t.id} {t.title}", t.id) for t in referral.targets]
            # a torn last line is a decision a crash cut off before it was saved: its item is shown again
            damaged = "".join(f" (line {b.line} unreadable: {b.reason})" for b in read.bad)
            self.show()
            self.w_agreement.value = self.agreement_html()
            self.status(f"{annotator}: {len(read.decisions)} earlier decisions{damaged}; {len(queue)} items to review")

    def press(self, key: str) -> None:
        """The one handler behind every button and key."""
        if key.lower() == RETRAIN_KEY:
            self.retrain()
            return
        with self._lock:
            session = self.session
            if session is None:
                self.status("press Start / resume first", error=True)
                return
            try:
                message = session.press(key, speaker=self.w_speaker_field.value, note=self.w_note.value,
                                        new_target=self.w_new_target.value,
                                        retarget_stance=self.w_retarget_stance.value)
            except ValueError as err:  # nothing was written; the item and its fields stay as they are
                self.status(str(err), error=True)
                return
            if message.startswith("saved:"):
                self._done.add(session.decisions[-1].key)
                self._written += 1
                if self._written % self.s.agreement_every == 0:
                    self.w_agreement.value = self.agreement_html()
            self.show()
            self.status(message)

    def _on_keys(self, change) -> None:
        """Keyboard: each character typed into the keys box is one key press; the box is cleared."""
        typed = change["new"]
        if typed:
            self.w_keys.value = ""
            self.press(typed[-1])

    # -- retraining -----------------------------------------------------------------------

    def retrain(self) -> None:
        """Train the deployed model's kind on gold + corrections (+ authored) into a new
        directory and classify the links with it, in the background; the queue re-ranks when
        the new model is ready."""
        if self.training is not None and self.training.is_alive():
            self.status("already training: the new model is not ready yet")
            return
        try:
            from ..stance.models import model_name

            kind = self.s.retrain_model or model_name(self.s.model)
        except (OSError, ValueError, KeyError) as err:
            self.status(f"cannot retrain: no deployed model to take the kind from ({err}); set RETRAIN_MODEL",
                        error=True)
            return
        out = self.s.retrain_dir / datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        self._show_model(f"model: {html.escape(self.model_version)} · <b class='remiss-training'>training… "
                         f"({html.escape(kind)} on gold + corrections)</b>")
        self.training = threading.Thread(target=self._retrain, args=(kind, out), daemon=True)
        self.training.start()
        self.status(f"training {kind} in the background: keep going, the queue re-ranks when it is ready")

    def _retrain(self, kind: str, out: Path) -> None:
        cli = [sys.executable, "-m", "pipeline.cli", "-q"]
        common = ["--paragraphs", str(self.s.paragraphs), "--referral", self.w_referral.value]
        steps = [
            [*cli, "train", *common, "--model", kind, "--statements", str(self.s.gold), "--corrections",
             str(self.s.corrections), "--authored", str(self.s.authored), "--params", str(self.s.train_params),
             "--out", str(out / "model")],
            [*cli, "classify", *common, "--model", str(out / "model"), "--links", str(self.s.links),
             "--out", str(out / "predictions.jsonl")],
        ]
        for step in steps:
            done = subprocess.run(step, cwd=self.s.root, capture_output=True, text=True)
            if done.returncode:
                last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
                self._show_model(f"model: {html.escape(self.model_version)} · <b style='color:#b00'>training failed: "
                                 f"{html.escape(last)}</b>")
                return
        with self._lock:
            self.predictions = read_jsonl(out / "predictions.jsonl", Prediction)
            self.model_version = predictions_version(out / "predictions.jsonl")
            self._show_model(f"model: {html.escape(self.model_version)} · <b class='remiss-ready'>new model ready</b> "
                             f"({html.escape(kind)}, {html.escape(str(out))}): the queue is re-ranked by it")
            if self.session is not None:
                self.start()


# ---------------------------------------------------------------------------------------
# remiss annotate


def annotate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--referral", type=Path, required=True, help="registry YAML of the referral's targets")
    p.add_argument("--annotator", default="", help="your name (letters, digits, _ . -); else type it on screen")
    p.add_argument("--predictions", type=Path, default=Path("data/predictions.jsonl"))
    p.add_argument("--paragraphs", type=Path, default=Path("data/paragraphs.jsonl"))
    p.add_argument("--links", type=Path, default=Path("data/links.jsonl"), help="what a retrained model classifies")
    p.add_argument("--corrections", type=Path, default=Path("labels/corrections"),
                   help="folder of <annotator>.jsonl correction files")
    p.add_argument("--statements", type=Path, default=Path("labels/gold/statements.yaml"), help="gold statements")
    p.add_argument("--authored", type=Path, default=Path("labels/authored"),
                   help="authored rows a retrained model learns from (missing: none)")
    p.add_argument("--model", type=Path, default=Path("models/stance"),
                   help="the deployed model (its kind is what r retrains)")
    p.add_argument("--retrain-model", default=None, help="retrain this kind of model instead (e.g. hybrid)")
    p.add_argument("--params", type=Path, default=Path("params.yaml"), help="reads its 'train' section on retraining")
    p.add_argument("--retrain-dir", type=Path, default=Path("models/annotate"), help="where retrained models go")
    p.add_argument("--order", choices=ORDERS, default="uncertainty")
    p.add_argument("--agreement-every", type=int, default=10, help="show the agreement after every N decisions")
    p.add_argument("--port", type=int, default=8866)
    p.add_argument("--ip", default="127.0.0.1", help="listen here (localhost only by default)")


def app_url(ip: str, port: int, annotator: str = "") -> str:
    return f"http://{ip}:{port}/" + (f"?annotator={quote(annotator)}" if annotator else "")


def annotate_cmd(args: argparse.Namespace) -> int:
    """Serve notebooks/annotate.ipynb with Voilà until interrupted; print its URL and keys."""
    from ipykernel.kernelspec import write_kernel_spec
    from voila.app import Voila

    if args.annotator:
        check_annotator(args.annotator)
    if args.agreement_every < 1:
        raise ValueError("--agreement-every must be at least 1")
    for path in (args.referral, args.predictions, args.paragraphs):
        if not path.exists():
            raise FileNotFoundError(f"{path}: not found (run the pipeline first: `make repro`)")
    config = {"PREDICTIONS": args.predictions, "PARAGRAPHS": args.paragraphs, "LINKS": args.links,
              "REFERRAL": args.referral, "GOLD": args.statements, "CORRECTIONS": args.corrections,
              "AUTHORED": args.authored, "MODEL": args.model, "TRAIN_PARAMS": args.params,
              "RETRAIN_DIR": args.retrain_dir}
    config = {k: str(v.resolve()) for k, v in config.items()}
    config.update(ANNOTATOR=args.annotator, ORDER=args.order, RETRAIN_MODEL=args.retrain_model,
                  AGREEMENT_EVERY=args.agreement_every)
    with tempfile.TemporaryDirectory(prefix="remiss-annotate-") as state:
        atomic_write_text(Path(state) / "config.json", json.dumps(config, indent=1))
        # the kernels run this interpreter, whatever "python3" kernel a user-wide install registered
        write_kernel_spec(Path(state) / "jupyter" / "kernels" / "python3")
        os.environ[CONFIG_ENV] = str(Path(state) / "config.json")
        os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(Path(state) / "jupyter"),
                                                                   os.environ.get("JUPYTER_PATH")]))
        print(f"annotator app: {app_url(args.ip, args.port, args.annotator)}", flush=True)
        print("keys: " + " · ".join(f"{k} {v}" for k, v in SCREEN_KEYS.items()), flush=True)
        Voila.launch_instance(argv=[str(NOTEBOOK), "--no-browser", f"--port={args.port}", f"--Voila.ip={args.ip}",
                                    "--Voila.port_retries=0"])
    return 0
