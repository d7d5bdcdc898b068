from __future__ import annotations

import pytest

from pipeline.referral import RegistryError, load_referral


def test_bundled_registry(referral):
    assert referral.id == "SOU 2024:72"
    assert {"4.1.1", "5.4", "7.2.6", "8"} <= referral.ids
    assert all(t.kind != "avsnitt" for t in referral.proposals_and_assessments())
    assert "Magnetmodellen" in referral.get("7.2.2").aliases


@pytest.mark.parametrize("content, problem", [
    ("targets: {}", "'targets' list"),
    ("targets:\n  - {title: Utan id}", "needs at least 'id' and 'title'"),
    ("targets:\n  - {id: '1', title: A}\n  - {id: '1', title: B}", "duplicate id"),
    ("targets:\n  - {id: '1', title: A, kind: lag}", "kind 'lag'"),
    ("targets: [unclosed", "cannot read"),
])
def test_bad_registry_names_the_file_and_problem(tmp_path, content, problem):
    path = tmp_path / "bad.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(RegistryError) as caught:
        load_referral(path)
    assert str(path) in str(caught.value) and problem in str(caught.value)
