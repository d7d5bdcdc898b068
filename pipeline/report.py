"""report: cells → the remissammanställning (CSV, XLSX, HTML, PNG).

The matrix (which responses, which targets, which label in which cell) and the tally are
computed once in :func:`build_matrix`; every format only renders that :class:`Matrix`, so the
four files cannot disagree. Every file is written atomically: a reader sees the old report
or the whole new one, never half of it.
"""
from __future__ import annotations

import argparse
import csv
import html
import io
import logging
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Sequence

from .records import LABELS, Cell, Paragraph, Prediction, Target, atomic_save, atomic_write_text, read_jsonl
from .referral import Referral, load_referral

log = logging.getLogger("remiss")

#: stance → the word a Swedish remissammanställning uses; import this rather than repeating it
SWEDISH: dict[str, str] = {"support": "tillstyrker", "oppose": "avstyrker", "hesitant": "tveksam", "neutral": "neutral"}
#: a cell decided by a blanket clause ("I övrigt tillstyrker …"), not by a statement on the target
BLANKET_MARK = "(generellt)"
SOURCES: dict[str, str] = {"statement": "eget uttalande", "blanket": "generell klausul"}
#: stance → (statement colour, lighter blanket colour); the same in every format
COLOURS: dict[str, tuple[str, str]] = {
    "support": ("#66bb6a", "#c8e6c9"),
    "oppose": ("#e57373", "#ffcdd2"),
    "hesitant": ("#ffb74d", "#ffe0b2"),
    "neutral": ("#bdbdbd", "#eeeeee"),
}
FILES = ("matrix.csv", "tally.csv", "matrix.xlsx", "index.html", "heatmap.png")
#: the heatmap's rows stay 0.5 in tall, each cell with its word, up to this many responses;
#: beyond, rows shrink to keep the image within HEATMAP_MAX_HEIGHT and cells carry colour
#: only. Unbounded, 1,000 responses drew a 75,000-pixel-tall image: 97 s and 8.6 GB of memory.
HEATMAP_LABELLED_ROWS = 60
HEATMAP_MAX_HEIGHT = 40.0  # inches; 6,000 pixels at the heatmap's 150 dpi
#: below this font size (points) response names are left off the heatmap's axis
HEATMAP_MIN_FONT = 3.0


def label(cell: Cell) -> str:
    """The text of one matrix cell, e.g. "tillstyrker" or "tillstyrker (generellt)"."""
    word = SWEDISH.get(cell.stance, cell.stance)
    return f"{word} {BLANKET_MARK}" if cell.source == "blanket" else word


def colour(cell: Cell) -> str:
    solid, light = COLOURS.get(cell.stance, ("#ffffff", "#ffffff"))
    return light if cell.source == "blanket" else solid


@dataclass(frozen=True)
class Matrix:
    referral: Referral
    docs: list[str]
    targets: list[Target]
    cells: dict[tuple[str, str], Cell]
    voices: dict[tuple[str, str], list[Prediction]]
    paragraphs: dict[tuple[str, str], Paragraph]
    #: target id → stance → number of responses
    tally: dict[str, Counter[str]]
    #: doc → the response's own voice as its cells name it (the doc id where none does)
    organisations: dict[str, str]

    def cell(self, doc: str, target: str) -> Cell | None:
        return self.cells.get((doc, target))

    def organisation(self, doc: str) -> str:
        return self.organisations.get(doc, doc)

    def tally_text(self, target: str) -> str:
        """E.g. "2 tillstyrker, 2 avstyrker, 1 tveksam" (labels in LABELS order, zeros left out)."""
        counts = self.tally[target]
        return ", ".join(f"{counts[s]} {SWEDISH[s]}" for s in LABELS if counts[s])


def build_matrix(cells: Sequence[Cell], paragraphs: Sequence[Paragraph], voices: Sequence[Prediction],
                 referral: Referral) -> Matrix:
    by_key: dict[tuple[str, str], Cell] = {}
    for cell in cells:
        if (cell.doc, cell.target) in by_key:
            raise ValueError(f"two cells for response {cell.doc!r}, target {cell.target!r}")
        by_key[(cell.doc, cell.target)] = cell
    # registry order, only targets some response takes a position on; ids the registry lacks
    # go last rather than vanish, so a stale registry shows up in the report
    used = {c.target for c in cells}
    targets = [t for t in referral.targets if t.id in used]
    targets += [Target(id=t, kind="okänd", title="(saknas i registret)") for t in sorted(used - referral.ids)]
    tally = {t.id: Counter(c.stance for c in cells if c.target == t.id) for t in targets}
    heard: dict[tuple[str, str], list[Prediction]] = defaultdict(list)
    for voice in voices:
        heard[(voice.doc, voice.target)].append(voice)
    organisations: dict[str, str] = {}
    for cell in cells:
        if cell.speaker:
            organisations.setdefault(cell.doc, cell.speaker)
    # responses sorted by id: the same input gives byte-identical reports, whatever the cell order
    return Matrix(referral=referral, docs=sorted({c.doc for c in cells}), targets=targets, cells=by_key,
                  voices=dict(heard), paragraphs={(p.doc, p.id): p for p in paragraphs}, tally=tally,
                  organisations=organisations)


# --- writing ---------------------------------------------------------------------------------

#: a spreadsheet reads a cell that starts with one of these as a formula (=HYPERLINK(…),
#: =cmd|' /C calc'!A0): registry titles and file names are not ours to trust
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _inert(value: object) -> object:
    """OWASP's CSV-injection rule: a text that would start a formula gets a leading quote."""
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_START) else value


def _csv(rows: list[list[object]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([[_inert(v) for v in row] for row in rows])
    return buffer.getvalue()


def _append_text(ws, row: list[object]) -> None:
    """Append a row whose texts stay texts: openpyxl makes a formula of any text that starts
    with '='; a string cell is never evaluated, so the text needs no quote there."""
    ws.append(row)
    for cell in ws[ws.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"


def matrix_rows(m: Matrix) -> list[list[str]]:
    """Header + one row per response; an empty string where a response says nothing."""
    rows = [["remissvar", *(t.id for t in m.targets)]]
    for doc in m.docs:
        rows.append([doc, *(label(c) if (c := m.cell(doc, t.id)) else "" for t in m.targets)])
    return rows


def tally_rows(m: Matrix) -> list[list[object]]:
    rows: list[list[object]] = [["target", "titel", *(SWEDISH[s] for s in LABELS), "sammanställning"]]
    for t in m.targets:
        rows.append([t.id, t.title, *(m.tally[t.id][s] for s in LABELS), f"{t.id}: {m.tally_text(t.id)}"])
    return rows


def write_csv(m: Matrix, out_dir: Path) -> dict[str, Path]:
    # plain UTF-8 without BOM for tools; people who open it in Excel have matrix.xlsx
    paths = {"matrix.csv": out_dir / "matrix.csv", "tally.csv": out_dir / "tally.csv"}
    atomic_write_text(paths["matrix.csv"], _csv(matrix_rows(m)))
    atomic_write_text(paths["tally.csv"], _csv(tally_rows(m)))
    return paths


def sheet_name(name: str) -> str:
    """Excel's rules: at most 31 characters, none of []:*?/\\, not starting or ending with '."""
    cleaned = re.sub(r"[\[\]:*?/\\]", "-", name).strip().strip("'")[:31].strip().strip("'")
    return cleaned or "Remiss"


def write_xlsx(m: Matrix, path: Path) -> None:
    # imported here (as matplotlib below): importing pipeline.report stays cheap for SWEDISH users
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = sheet_name(m.referral.id)
    bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")
    _append_text(ws, ["Remissvar", *(t.id for t in m.targets)])
    _append_text(ws, ["Rubrik", *(t.title for t in m.targets)])  # titles readable in print, not only on hover
    for col, target in enumerate(m.targets, start=2):
        ws.cell(1, col).font = bold
        ws.cell(1, col).comment = Comment(target.title, "remiss")
        ws.cell(2, col).alignment = wrap
        ws.cell(2, col).font = Font(size=8)
        ws.column_dimensions[get_column_letter(col)].width = 16
    ws.row_dimensions[2].height = 90
    for doc, row in zip(m.docs, matrix_rows(m)[1:]):
        _append_text(ws, row)
        for col, target in enumerate(m.targets, start=2):
            if cell := m.cell(doc, target.id):
                rgb = colour(cell).lstrip("#").upper()
                ws.cell(ws.max_row, col).fill = PatternFill("solid", start_color=rgb, end_color=rgb)
    ws.append([])
    for stance in LABELS:  # one count row per label: numbers, so Excel can sum and chart them
        ws.append([f"Antal {SWEDISH[stance]}", *(m.tally[t.id][stance] for t in m.targets)])
        ws.cell(ws.max_row, 1).font = bold
    ws.column_dimensions["A"].width = max([len("Antal tillstyrker"), *(len(d) for d in m.docs)]) + 2
    ws.freeze_panes = "B3"
    atomic_save(path, lambda tmp: _save_without_timestamps(wb, tmp))


#: the earliest time a zip entry can carry
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def _save_without_timestamps(wb, path: Path) -> None:
    """Save like ``wb.save`` but without the save time that openpyxl writes into
    docProps/core.xml and every zip entry: the same matrix is the same bytes, so a rerun of
    `dvc repro` or a resumed `remiss score` does not change reports/."""
    import datetime
    from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo

    from openpyxl.writer.excel import ExcelWriter

    class Archive(ZipFile):
        def writestr(self, name, data, *args, **kwargs):
            if isinstance(name, str):
                name = ZipInfo(name, date_time=ZIP_EPOCH)
                name.compress_type = ZIP_DEFLATED
            super().writestr(name, data, *args, **kwargs)

        def write(self, filename, arcname=None, *args, **kwargs):  # worksheets go through a temporary file
            self.writestr(arcname or Path(filename).name, Path(filename).read_bytes())

    # the document properties need some date: the same one (as reproducible builds do)
    wb.properties.created = wb.properties.modified = datetime.datetime(*ZIP_EPOCH)
    with Archive(path, "w", ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(wb, archive).save()


# --- HTML: one self-contained page; <details> opens the evidence without any script ---------

KINDS = {"forslag": "förslag", "bedomning": "bedömning", "avsnitt": "avsnitt", "helhet": "helheten"}
#: the page shell; $-placeholders (string.Template) because the CSS is full of braces
PAGE = Template("""<!DOCTYPE html>
<html lang="sv">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title>
<style>
body { font: 14px/1.4 system-ui, "DejaVu Sans", sans-serif; margin: 1.5em; color: #222; }
h1 { margin: 0 0 .2em; font-size: 1.6em; }
.sub { margin: 0 0 1em; color: #555; }
.legend { margin: .6em 0 1em; }
.chip { display: inline-block; padding: .1em .55em; margin: 0 .4em .3em 0; border-radius: .3em;
  border: 1px solid #0002; }
table.matrix { border-collapse: separate; border-spacing: 0; font-size: 12px; }
.matrix th, .matrix td { border: 1px solid #fff; padding: .3em .3em; }
/* the response names stay in view while a wide matrix scrolls sideways */
.matrix th:first-child { position: sticky; left: 0; z-index: 3; }
.matrix thead th { background: #37474f; color: #fff; vertical-align: bottom; text-align: left;
  width: 6.2em; min-width: 6.2em; }
.matrix thead th:first-child { width: auto; }
.matrix thead .id { display: block; font-size: 1.15em; }
.matrix thead .ttl { display: -webkit-box; -webkit-line-clamp: 4; -webkit-box-orient: vertical; overflow: hidden;
  font-weight: normal; font-size: .8em; line-height: 1.2; color: #eceff1; overflow-wrap: anywhere; }
.matrix tbody th { text-align: left; background: #eceff1; white-space: nowrap; }
.matrix .org { display: block; }
.matrix .doc { display: block; font-weight: normal; font-size: .8em; color: #666; }
.matrix td { position: relative; text-align: center; vertical-align: middle; }
.matrix td.empty { background: #fafafa; }
.matrix td.blanket { font-style: italic; }
.matrix tfoot th, .matrix tfoot td { background: #eceff1; font-weight: bold; text-align: center; }
.matrix tfoot th { text-align: left; }
summary { cursor: pointer; list-style: none; }
summary::-webkit-details-marker { display: none; }
details[open] > summary { text-decoration: underline; }
.panel { position: absolute; z-index: 5; top: 100%; left: 0; width: 34em; text-align: left; font-style: normal;
  background: #fff; border: 1px solid #90a4ae; box-shadow: 0 4px 14px #0003; padding: .6em .9em; }
.panel.right { left: auto; right: 0; }
.panel h3 { margin: 0 0 .4em; font-size: 1.05em; }
.panel h4 { margin: .7em 0 .3em; font-size: .95em; }
.panel dl { display: grid; grid-template-columns: max-content 1fr; gap: .1em .8em; margin: 0; }
.panel dt { color: #555; } .panel dd { margin: 0; }
blockquote { margin: .3em 0; padding: .3em .6em; border-left: 3px solid #90a4ae; background: #f5f7f8; }
blockquote .where { font-size: .8em; color: #666; }
blockquote .text { white-space: pre-line; }
.voices { padding-left: 1.1em; margin: 0; } .voices .speaker { font-weight: bold; }
.flag { color: #8a4b00; }
table.tally { border-collapse: collapse; margin-top: 1em; }
.tally th, .tally td { border-bottom: 1px solid #ddd; padding: .25em .7em; text-align: left; vertical-align: top; }
</style>
</head>
<body>
<h1>Remissammanställning</h1>
<p class="sub">$referral $referral_title · $n_docs remissvar · $n_targets förslag, bedömningar och avsnitt.
Klicka på en cell för att se underlaget.</p>
<div class="legend">$legend</div>
<table class="matrix">
<thead><tr><th scope="col">Remissvar</th>$head</tr></thead>
<tbody>$body</tbody>
<tfoot>$foot</tfoot>
</table>
<h2>Sammanställning per förslag</h2>
<table class="tally">
<thead><tr><th>Nr</th><th>Typ</th><th>Rubrik</th><th>Utfall</th></tr></thead>
<tbody>$tally</tbody>
</table>
</body>
</html>
""")


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _quote(m: Matrix, doc: str, paragraph_id: str) -> str:
    p = m.paragraphs.get((doc, paragraph_id))
    if p is None:  # evidence that points at a paragraph we were not given: say so, do not hide it
        return f'<blockquote class="missing">Stycke {_e(paragraph_id)} saknas i underlaget.</blockquote>'
    where = " · ".join(_e(x) for x in (p.section, p.id) if x)
    return f'<blockquote><div class="where">{where}</div><div class="text">{_e(p.text)}</div></blockquote>'


def _voices_html(m: Matrix, doc: str, target: str) -> str:
    voices = m.voices.get((doc, target), [])
    if not voices:
        return ""
    items = "".join(
        f'<li><span class="speaker">{_e(v.speaker or "okänd röst")}</span> '
        f'<span class="chip" style="background:{COLOURS.get(v.stance, ("#fff",))[0]}">'
        f'{_e(SWEDISH.get(v.stance, v.stance))}</span>'
        f'{_quote(m, doc, v.paragraph)}</li>' for v in voices)
    return f'<h4>Övriga röster</h4><ul class="voices">{items}</ul>'


def _cell_html(m: Matrix, doc: str, target: Target, right: bool) -> str:
    cell, voices = m.cell(doc, target.id), _voices_html(m, doc, target.id)
    side = " right" if right else ""
    if cell is None:
        if not voices:
            return '<td class="empty"></td>'
        return (f'<td class="empty"><details><summary>–</summary>'
                f'<div class="panel{side}">{voices}</div></details></td>')
    facts = (f'<dl><dt>Ställningstagande</dt><dd>{_e(label(cell))}</dd>'
             f'<dt>Röst</dt><dd>{_e(cell.speaker or m.organisation(doc))}</dd>'
             f'<dt>Säkerhet</dt><dd>{cell.confidence:.0%}</dd>'
             f'<dt>Källa</dt><dd>{_e(SOURCES.get(cell.source, cell.source))}</dd></dl>')
    flags = "".join(f'<p class="flag">Att granska: {_e(f)}</p>' for f in cell.flags)
    evidence = "".join(_quote(m, doc, pid) for pid in cell.evidence) or "<p>Inget underlag angivet.</p>"
    head = f"{_e(m.organisation(doc))} om {_e(target.id)} {_e(target.title)}"
    return (f'<td class="{_e(cell.stance)}{" blanket" if cell.source == "blanket" else ""}" '
            f'style="background:{colour(cell)}"><details><summary>{_e(label(cell))}</summary>'
            f'<div class="panel{side}"><h3>{head}</h3>{facts}{flags}<h4>Underlag</h4>{evidence}{voices}</div>'
            f'</details></td>')


def render_html(m: Matrix) -> str:
    half = len(m.targets) / 2
    head = "".join(f'<th scope="col" title="{_e(t.id + " " + t.title)}"><span class="id">{_e(t.id)}</span>'
                   f'<span class="ttl">{_e(t.title)}</span></th>' for t in m.targets)
    body = "".join(
        f'<tr><th scope="row"><span class="org">{_e(m.organisation(doc))}</span><span class="doc">{_e(doc)}</span></th>'
        + "".join(_cell_html(m, doc, t, n >= half) for n, t in enumerate(m.targets)) + "</tr>"
        for doc in m.docs)
    foot = "".join(f'<tr><th scope="row">{_e(SWEDISH[s].capitalize())}</th>'
                   + "".join(f"<td>{m.tally[t.id][s] or ''}</td>" for t in m.targets) + "</tr>" for s in LABELS)
    legend = "".join(f'<span class="chip" style="background:{COLOURS[s][0]}">{_e(SWEDISH[s].capitalize())}</span>'
                     for s in LABELS)
    legend += (f'<span class="chip" style="background:{COLOURS["support"][1]}"><em>{_e(BLANKET_MARK)}</em>, '
               f'ljusare ton: följer av en generell klausul, inte av ett uttalande om förslaget</span>')
    tally = "".join(f'<tr><td>{_e(t.id)}</td><td>{_e(KINDS.get(t.kind, t.kind))}</td><td>{_e(t.title)}</td>'
                    f'<td>{_e(m.tally_text(t.id))}</td></tr>' for t in m.targets)
    return PAGE.substitute(
        title=_e(f"Remissammanställning – {m.referral.id}"), referral=_e(m.referral.id),
        referral_title=_e(m.referral.title), n_docs=len(m.docs), n_targets=len(m.targets),
        legend=legend, head=head, body=body, foot=foot, tally=tally)


def write_png(m: Matrix, path: Path) -> None:
    import matplotlib

    # names and titles are plain text: as mathtext, "$x$" in a file name is a formula and
    # "$\foo$" an error that aborted the report
    with matplotlib.rc_context({"text.parse_math": False}):
        _write_png(m, path)


def _write_png(m: Matrix, path: Path) -> None:
    # Figure without pyplot: no global backend state, no display needed (Agg renders the PNG)
    from matplotlib.colors import to_rgba
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    rows, cols = max(len(m.docs), 1), max(len(m.targets), 1)
    row_height = min(0.5, (HEATMAP_MAX_HEIGHT - 1.8) / rows)  # inches
    row_points = row_height * 72
    fig = Figure(figsize=(2.5 + 0.62 * cols, 1.8 + row_height * rows), dpi=150)
    ax = fig.add_subplot()
    image = [[to_rgba(colour(c)) if (c := m.cell(d, t.id)) else (1.0, 1.0, 1.0, 1.0) for t in m.targets]
             for d in m.docs] or [[(1.0, 1.0, 1.0, 1.0)]]
    ax.imshow(image, aspect="auto", interpolation="nearest")
    seen: dict[tuple[str, str], tuple[str, str]] = {}  # (stance, source) → (label, colour) for the legend
    for y, doc in enumerate(m.docs):
        for x, target in enumerate(m.targets):
            if cell := m.cell(doc, target.id):
                seen.setdefault((cell.stance, cell.source), (label(cell), colour(cell)))
                if rows <= HEATMAP_LABELLED_ROWS:
                    ax.text(x, y, label(cell).replace(" ", "\n"), ha="center", va="center", fontsize=5.5)
    ax.set_xticks(range(len(m.targets)), [t.id for t in m.targets], fontsize=7)
    if (font := min(7.0, 0.8 * row_points)) >= HEATMAP_MIN_FONT:
        ax.set_yticks(range(len(m.docs)), [m.organisation(d) for d in m.docs], fontsize=font)
    else:
        ax.set_yticks([])
        ax.set_ylabel(f"{len(m.docs)} remissinstanser (namnen i matrix.xlsx och index.html)", fontsize=7)
    ax.xaxis.tick_top()
    ax.set_xticks([x - 0.5 for x in range(1, cols)], minor=True)
    ax.set_yticks([y - 0.5 for y in range(1, rows)], minor=True)
    ax.grid(which="minor", color="white", linewidth=min(1.5, 0.2 * row_points))
    ax.tick_params(which="minor", length=0)
    ax.set_title(f"Remissammanställning – {m.referral.id}", fontsize=9, pad=18)
    rank = {s: n for n, s in enumerate(LABELS)}
    handles = [Patch(facecolor=fill, edgecolor="#999999", label=name) for _, (name, fill) in
               sorted(seen.items(), key=lambda kv: (rank.get(kv[0][0], len(rank)), kv[0][1] == "blanket"))]
    if handles:
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.04), ncol=min(len(handles), 5),
                  fontsize=7, frameon=False)
    atomic_save(path, lambda tmp: fig.savefig(tmp, format="png", bbox_inches="tight"))


def write_reports(cells: Sequence[Cell], paragraphs: Sequence[Paragraph], voices: Sequence[Prediction],
                  referral: Referral, out_dir: Path) -> dict[str, Path]:
    """Write every format of the remissammanställning to ``out_dir``; returns file name → path."""
    out_dir = Path(out_dir)
    m = build_matrix(cells, paragraphs, voices, referral)
    paths = write_csv(m, out_dir)
    paths["matrix.xlsx"] = out_dir / "matrix.xlsx"
    write_xlsx(m, paths["matrix.xlsx"])
    paths["index.html"] = out_dir / "index.html"
    atomic_write_text(paths["index.html"], render_html(m))
    paths["heatmap.png"] = out_dir / "heatmap.png"
    write_png(m, paths["heatmap.png"])
    return paths


# --- CLI ---------------------------------------------------------------------------------------

def report_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cells", type=Path, default=Path("data/documents.jsonl"), help="document × target cells")
    p.add_argument("--paragraphs", type=Path, default=Path("data/paragraphs.jsonl"), help="evidence text")
    p.add_argument("--voices", type=Path, default=Path("data/voices.jsonl"),
                   help="other voices' statements (optional: a missing file means none)")
    p.add_argument("--referral", type=Path, default=Path("corpus/proposals/sou-2024-72.yaml"),
                   help="registry YAML of the referral's targets")
    p.add_argument("--out", type=Path, default=Path("reports"), help="folder for " + ", ".join(FILES))


def report_cmd(args: argparse.Namespace) -> int:
    cells = read_jsonl(args.cells, Cell)
    voices = read_jsonl(args.voices, Prediction) if args.voices.exists() else []
    paths = write_reports(cells, read_jsonl(args.paragraphs, Paragraph), voices, load_referral(args.referral), args.out)
    log.info("report of %d cells, %d voices → %s", len(cells), len(voices), ", ".join(str(p) for p in paths.values()))
    return 0
