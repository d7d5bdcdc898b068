"""The remissammanställning: the gold matrix of the bundled corpus rendered as CSV, XLSX, HTML, PNG.

Cells come from labels/gold/documents.yaml, their evidence from the paragraphs that hold the
gold statements, and the other voices (boards, administrations, parties) from the gold
statements whose speaker is not the organisation itself; every expectation is computed
from the gold files, not typed in.
"""
from __future__ import annotations

import csv
import html
import subprocess
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from matplotlib.colors import to_rgb
from matplotlib.image import imread
from openpyxl import load_workbook

from pipeline.gold import load_document_cells, paragraphs_holding
from pipeline.records import LABELS, Cell, Paragraph, Prediction, Target, write_jsonl
from pipeline.referral import Referral
from pipeline.cli import main
from pipeline.report import (BLANKET_MARK, COLOURS, HEATMAP_MAX_HEIGHT, SWEDISH, ZIP_EPOCH, build_matrix,
                             sheet_name, write_reports)
from tests.conftest import GOLD, REGISTRY

CHROMIUM = Path("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason=(
    "headless Chromium is not installed: apt-get install -y --no-install-recommends chromium"))
#: each response's own voice, as the gold statements name it
OWN = {"socialstyrelsen": "Socialstyrelsen", "sveriges-socialchefer": "FSS",
       "vastra-gotalandsregionen": "VGR", "stockholms-stad": "Stockholms stad"}


def _first_paragraph(statement, paragraphs) -> Paragraph:
    found = paragraphs_holding(statement.quote, statement.doc, paragraphs)
    assert found, f"gold quote not found in {statement.doc}: {statement.quote[:60]}"
    return found[0]


@pytest.fixture(scope="module")
def gold() -> dict[str, dict[str, str]]:
    return load_document_cells(GOLD / "documents.yaml")


@pytest.fixture(scope="module")
def corpus(gold, statements, paragraphs) -> tuple[list[Cell], list[Prediction]]:
    """Gold cells with real evidence; a cell no own statement backs comes from the blanket clause."""
    cells = []
    for doc, stances in gold.items():
        own = [s for s in statements if s.doc == doc and s.speaker == OWN[doc]]
        blanket = [s for s in own if s.target == "*"]
        for target, stance in stances.items():
            backing = [s for s in own if s.target == target and s.stance == stance]
            source = "statement" if backing else "blanket"
            backing = backing or blanket
            assert backing, f"{doc} {target}: no gold statement backs the gold cell"
            evidence = list(dict.fromkeys(_first_paragraph(s, paragraphs).id for s in backing))
            cells.append(Cell(doc=doc, target=target, stance=stance, confidence=1.0, source=source,
                              speaker=OWN[doc], evidence=evidence))
    voices = [Prediction(doc=s.doc, paragraph=_first_paragraph(s, paragraphs).id, target=s.target, stance=s.stance,
                         probs={s.stance: 0.9}, speaker=s.speaker)
              for s in statements if s.speaker != OWN[s.doc] and s.target != "*"]
    return cells, voices


@pytest.fixture(scope="module")
def reports(corpus, paragraphs, referral, tmp_path_factory) -> dict[str, Path]:
    cells, voices = corpus
    return write_reports(cells, paragraphs, voices, referral, tmp_path_factory.mktemp("reports"))


@pytest.fixture(scope="module")
def cells_by_key(corpus) -> dict[tuple[str, str], Cell]:
    return {(c.doc, c.target): c for c in corpus[0]}


def expected_label(cell: Cell, gold) -> str:
    word = SWEDISH[gold[cell.doc][cell.target]]
    return f"{word} {BLANKET_MARK}" if cell.source == "blanket" else word


def gold_targets(gold, referral) -> list[str]:
    used = {t for stances in gold.values() for t in stances}
    return [t.id for t in referral.targets if t.id in used]


def test_fixture_is_realistic(corpus):
    cells, voices = corpus
    assert {c.source for c in cells} == {"statement", "blanket"}
    assert any(v.speaker == "Socialnämnden" and v.target == "5.4" and v.stance == "hesitant" for v in voices)


def test_csv_matrix_matches_gold(reports, gold, referral, cells_by_key):
    rows = list(csv.reader(reports["matrix.csv"].open(encoding="utf-8")))
    header, body = rows[0], rows[1:]
    assert header[1:] == gold_targets(gold, referral)
    assert sorted(r[0] for r in body) == sorted(gold) and len(body) == len(gold)
    for row in body:
        doc = row[0]
        for target, value in zip(header[1:], row[1:]):
            cell = cells_by_key.get((doc, target))
            assert value == (expected_label(cell, gold) if cell else ""), (doc, target)
    assert any(BLANKET_MARK in value for row in body for value in row)


def test_tally_matches_gold(reports, gold, referral):
    rows = list(csv.DictReader(reports["tally.csv"].open(encoding="utf-8")))
    assert [r["target"] for r in rows] == gold_targets(gold, referral)
    for row in rows:
        counts = Counter(stances[row["target"]] for stances in gold.values() if row["target"] in stances)
        assert {s: int(row[SWEDISH[s]]) for s in LABELS} == {s: counts[s] for s in LABELS}
        words = ", ".join(f"{counts[s]} {SWEDISH[s]}" for s in LABELS if counts[s])
        assert row["sammanställning"] == f"{row['target']}: {words}"


def test_xlsx_cells_labels_colours_and_tally(reports, gold, referral, cells_by_key):
    wb = load_workbook(reports["matrix.xlsx"])
    ws = wb[sheet_name(referral.id)]
    assert ws.freeze_panes == "B3"
    targets = [ws.cell(1, col).value for col in range(2, ws.max_column + 1)]
    assert targets == gold_targets(gold, referral)
    assert [ws.cell(1, col).comment.text for col in range(2, ws.max_column + 1)] == \
           [referral.get(t).title for t in targets]
    rows = {ws.cell(r, 1).value: r for r in range(3, ws.max_row + 1)}
    fills: dict[tuple[str, str], set[str]] = {}
    for (doc, target), cell in cells_by_key.items():
        xl = ws.cell(rows[doc], targets.index(target) + 2)
        assert xl.value == expected_label(cell, gold)
        fills.setdefault((cell.stance, cell.source), set()).add(xl.fill.start_color.rgb)
    assert all(len(colours) == 1 for colours in fills.values()), "one colour per stance and source"
    assert fills[("support", "statement")] != fills[("oppose", "statement")]
    assert fills[("support", "statement")] != fills[("support", "blanket")]
    for stance in LABELS:
        counts = [ws.cell(rows[f"Antal {SWEDISH[stance]}"], col).value for col in range(2, ws.max_column + 1)]
        assert counts == [sum(1 for s in gold.values() if s.get(t) == stance) for t in targets]


def test_xlsx_holds_no_save_time(reports):
    # openpyxl would stamp the save time into every zip entry and the document properties,
    # so each `dvc repro` would change reports/ although the matrix did not
    import zipfile

    with zipfile.ZipFile(reports["matrix.xlsx"]) as archive:
        assert {info.date_time for info in archive.infolist()} == {ZIP_EPOCH}
        properties = archive.read("docProps/core.xml").decode()
    assert properties.count("1980-01-01T00:00:00Z") == 2  # created and modified


def test_sheet_names_follow_excel_rules():
    assert sheet_name("SOU 2024:72") == "SOU 2024-72"
    name = sheet_name("Ds 2023:1 [remiss]/del*2? \\ med en mycket lång titel")
    assert len(name) <= 31 and not set(name) & set("[]:*?/\\")
    assert sheet_name("'") == "Remiss"


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def test_html_is_self_contained_and_complete(reports, corpus, referral):
    page = reports["index.html"].read_text(encoding="utf-8")
    parsed = _Tags()
    parsed.feed(page)
    names = {tag for tag, _ in parsed.tags}
    assert not names & {"script", "link", "img", "iframe", "object"}, "no external or scripted content"
    assert not any("src" in attrs or "href" in attrs for _, attrs in parsed.tags)
    assert "url(" not in page and "@import" not in page
    cells, voices = corpus
    assert sum(tag == "details" for tag, _ in parsed.tags) >= len(cells)
    text = "".join(parsed.text)
    for word in ("Remissammanställning", "Tillstyrker", "Avstyrker", "Tveksam", "Neutral", "Underlag",
                 "Övriga röster", "Säkerhet"):
        assert word in text
    for target in {c.target for c in cells}:
        assert f'title="{html.escape(target + " " + referral.get(target).title)}"' in page


def test_all_text_is_escaped(tmp_path):
    nasty = "<script>alert('x')</script> & <b>fet</b>"
    referral = Referral(id="SOU 2099:1", title="Test <i>", targets=(Target(id="1.1", kind="forslag", title="A <&> B"),))
    paragraphs = [Paragraph(doc="d<1>", id="p1", text=nasty, kind="paragraph", section="<h1>Avsnitt</h1>",
                            start=0, end=9)]
    cells = [Cell(doc="d<1>", target="1.1", stance="support", confidence=0.8, source="statement",
                  speaker="A & <B>", evidence=["p1"], flags=["<u>flag</u>"])]
    voices = [Prediction(doc="d<1>", paragraph="p1", target="1.1", stance="oppose", probs={"oppose": 0.7},
                         speaker='<img src=x onerror="alert(1)">')]
    page = write_reports(cells, paragraphs, voices, referral, tmp_path)["index.html"].read_text(encoding="utf-8")
    parsed = _Tags()
    parsed.feed(page)
    assert {tag for tag, _ in parsed.tags}.isdisjoint({"script", "b", "img", "i", "u"})
    assert [tag for tag, _ in parsed.tags].count("h1") == 1  # the page's own heading only
    text = "".join(parsed.text)
    for literal in (nasty, "A & <B>", '<img src=x onerror="alert(1)">', "<h1>Avsnitt</h1>", "A <&> B", "<u>flag</u>"):
        assert literal in text
    assert html.escape(nasty) in page


def test_heatmap_rows_are_responses(reports, gold, tmp_path):
    image = imread(reports["heatmap.png"])
    assert image.shape[1] > image.shape[0], "4 responses × 17 targets: wider than tall"
    assert len(np.unique(image.reshape(-1, image.shape[2]), axis=0)) > 20
    # the transposed shape: many responses, few targets → taller than wide
    referral = Referral(id="R", title="", targets=(Target("1", "forslag", "Ett"), Target("2", "forslag", "Två")))
    cells = [Cell(doc=f"svar-{n:02d}", target=t, stance=LABELS[(n + int(t)) % 4], confidence=1.0,
                  source="statement", speaker=f"Instans {n}") for n in range(14) for t in ("1", "2")]
    tall = imread(write_reports(cells, [], [], referral, tmp_path)["heatmap.png"])
    assert tall.shape[0] > tall.shape[1]


def test_a_heatmap_of_a_thousand_responses_stays_bounded(tmp_path):
    """Rows shrink past HEATMAP_LABELLED_ROWS so that the image (and the memory drawing it)
    does not grow with the number of responses; every response keeps its coloured row."""
    referral = Referral(id="R", title="", targets=(Target("1", "forslag", "Ett"), Target("2", "forslag", "Två")))
    cells = [Cell(doc=f"svar-{n:04d}", target="1", stance="oppose" if n == 999 else "support", confidence=1.0,
                  source="statement", speaker=f"Instans {n}") for n in range(1000)]
    image = imread(write_reports(cells, [], [], referral, tmp_path)["heatmap.png"])
    assert image.shape[0] <= (HEATMAP_MAX_HEIGHT + 1) * 150
    # the last response's red row is still drawn, below the rows of green (the legend below has both)
    red = np.all(np.isclose(image[..., :3], to_rgb(COLOURS["oppose"][0]), atol=0.02), axis=-1)
    green = np.all(np.isclose(image[..., :3], to_rgb(COLOURS["support"][0]), atol=0.02), axis=-1)
    green_rows = np.unique(np.nonzero(green)[0])
    assert red.any() and (green_rows < np.nonzero(red)[0].min()).mean() > 0.9


def test_reports_are_replaced_whole(reports, corpus, paragraphs, referral):
    out = reports["index.html"].parent
    assert sorted(p.name for p in out.iterdir()) == sorted(reports)  # no temp files left behind
    cells, voices = corpus
    assert write_reports(cells, paragraphs, voices, referral, out) == reports
    assert sorted(p.name for p in out.iterdir()) == sorted(reports)


def test_duplicate_cells_are_refused(corpus, referral):
    cells = corpus[0]
    with pytest.raises(ValueError, match="two cells"):
        build_matrix([*cells, cells[0]], [], [], referral)


def test_cli_reads_jsonl_and_voices_are_optional(corpus, paragraphs, tmp_path, capsys):
    cells, _ = corpus
    write_jsonl(tmp_path / "documents.jsonl", cells)
    write_jsonl(tmp_path / "paragraphs.jsonl", paragraphs)
    out = tmp_path / "reports"
    assert main(["report", "--cells", str(tmp_path / "documents.jsonl"),
                        "--paragraphs", str(tmp_path / "paragraphs.jsonl"),
                        "--voices", str(tmp_path / "missing.jsonl"), "--referral", str(REGISTRY),
                        "--out", str(out)]) == 0
    assert {p.name for p in out.iterdir()} == {"matrix.csv", "tally.csv", "matrix.xlsx", "index.html", "heatmap.png"}
    assert "Övriga röster" not in (out / "index.html").read_text(encoding="utf-8")
    with pytest.raises(SystemExit) as exit_:
        main(["report", "--help"])
    assert exit_.value.code == 0 and "--voices" in capsys.readouterr().out


# --- the page as a browser shows it ------------------------------------------------------------

def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'chromium-profile'}", *args],
        capture_output=True, text=True, timeout=120, check=True)


@needs_chromium
def test_chromium_screenshot_shows_the_coloured_matrix(reports, tmp_path):
    png = tmp_path / "report.png"
    _chromium(tmp_path, f"--screenshot={png}", "--window-size=1400,1000", reports["index.html"].as_uri())
    assert png.exists() and png.stat().st_size > 10_000
    pixels = imread(png)[..., :3]
    assert pixels.std() > 0.05, "not a single colour"
    for stance in ("support", "oppose", "hesitant"):
        rgb = np.array([int(COLOURS[stance][0][i:i + 2], 16) / 255 for i in (1, 3, 5)])
        assert (np.abs(pixels - rgb).max(axis=2) < 0.02).sum() > 500, f"no {stance} cells visible"


@needs_chromium
def test_chromium_dom_holds_matrix_labels_and_evidence(reports, corpus, paragraphs, tmp_path):
    dom = _chromium(tmp_path, "--dump-dom", reports["index.html"].as_uri()).stdout
    assert '<table class="matrix">' in dom
    cells, voices = corpus
    for stance in {c.stance for c in cells}:
        assert f"<summary>{SWEDISH[stance]}</summary>" in dom
    texts = {(p.doc, p.id): p.text for p in paragraphs}
    for item in (cells[0], cells[-1]):
        assert html.escape(texts[(item.doc, item.evidence[0])], quote=False) in dom
    assert html.escape(voices[0].speaker, quote=False) in dom
