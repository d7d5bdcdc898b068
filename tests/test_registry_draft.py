"""`remiss registry draft` on the seeds: every target id a response cites, with the heading
it prints, from the responses and the report's summary chapter."""
from __future__ import annotations

import pytest
import yaml

from pipeline.cli import main
from pipeline.link.rules import cited_numbers, resolve
from pipeline.referral import load_referral
from pipeline.referral.draft import draft_registry, draft_yaml, from_report
from pipeline.segment import section_number
from tests.conftest import REGISTRY, RESPONSES

SUMMARY = RESPONSES.parent / "referral" / "sou-2024-72-sammanfattning.md"


@pytest.fixture(scope="module")
def draft(paragraphs):
    return draft_registry(paragraphs, SUMMARY.read_text(encoding="utf-8"), str(SUMMARY), "SOU 2024:72")


def test_every_cited_target_id_is_drafted(draft, paragraphs, referral):
    cited = {resolve(n, referral)[0] for p in paragraphs for _, n in cited_numbers(p.text) if resolve(n, referral)}
    # Socialstyrelsen prints every number; the other three responses cite none
    assert cited == {"2.4", "4.1", "4.1.1", "4.2.3", "4.3", "4.4.3", "4.6.4", "5.4", "7.1.1", "7.2.1", "7.2.2",
                     "7.2.3", "7.2.6", "8"}
    drafted = {t["id"] for t in draft["targets"]}
    assert cited <= drafted, cited - drafted


def test_printed_headings_are_the_titles(draft, paragraphs, referral):
    by_id = {t["id"]: t for t in draft["targets"]}
    headings = {section_number(p.section): p.section for p in paragraphs
                if p.section and section_number(p.section) and p.text.startswith(p.section)}
    assert len(headings) >= 14
    for number, heading in headings.items():
        assert by_id[number]["title"] == " ".join(heading[len(number):].split()), number
        assert by_id[number]["confidence"] in ("medium", "high")
        assert any("heading" in s for s in by_id[number]["sources"])
    # where the hand registry has the same target, the printed heading is its title
    same = [n for n in headings if referral.get(n) and referral.get(n).title == by_id[n]["title"]]
    assert len(same) >= 12


def test_a_summary_topic_gives_a_summary(draft):
    by_id = {t["id"]: t for t in draft["targets"]}
    assert "dygnet runt" in by_id["4.1.1"]["summary"]
    assert any(s.startswith("summary topic:") for s in by_id["4.1.1"]["sources"])


def test_the_report_text_gives_kind_and_box():
    text = ("## 4.2.3 Avtalen bör stärkas\n\n**Förslag:** Regeringen ska få meddela föreskrifter.\n\n"
            "Motiv …\n\n4.4.3 Inga sanktioner\n\nBedömning: Det bör inte införas sanktioner.\n\n"
            "5 Kommunerna\n\nBakgrund.\n")
    found = {t.id: t for t in from_report(text, "sou.md")}
    assert (found["4.2.3"].kind, found["4.2.3"].confidence) == ("forslag", "high")
    assert found["4.2.3"].summary == "Regeringen ska få meddela föreskrifter."
    assert found["4.4.3"].kind == "bedomning" and found["5"].kind == "avsnitt"


def test_the_draft_is_a_registry_with_the_whole_report_first(draft, tmp_path):
    path = tmp_path / "draft.yaml"
    path.write_text(draft_yaml(draft), encoding="utf-8")
    referral = load_referral(path)
    assert referral.targets[0].kind == "helhet" and referral.id == "SOU 2024:72"


def test_the_cli_writes_it_and_never_overwrites(tmp_path, caplog):
    out = tmp_path / "draft.yaml"
    args = ["registry", "draft", str(RESPONSES), "--report", str(SUMMARY), "--id", "SOU 2024:72", "--out", str(out)]
    assert main(args) == 0
    assert {t.id for t in load_referral(out).targets} >= set(load_referral(REGISTRY).ids) - {"7.1.2", "7.1.3", "7.2.4",
                                                                                            "7.2.5", "7.2.7", "4.6.2"}
    assert main(args) == 2 and "never overwrites" in caplog.text


def test_hostile_text_stays_text(tmp_path):
    response = tmp_path / "r.txt"
    response.write_text("4.1 Avtal !!python/object/apply:os.system ['echo pwned'] <script>x</script>\n\n"
                        "Vi tillstyrker förslaget.\n", encoding="utf-8")
    out = tmp_path / "draft.yaml"
    assert main(["registry", "draft", str(response), "--out", str(out)]) == 0
    titles = [t["title"] for t in yaml.safe_load(out.read_text(encoding="utf-8"))["targets"]]
    assert any("!!python/object" in t for t in titles)  # a string, never a tag
