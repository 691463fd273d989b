"""The client lists a result's cells in the order a reader expects: bands by their edges (not
as text, where "10-20%" would come before "5-10%"), the margin last."""

from __future__ import annotations

from api.client._results import _sorted_cells


def _order(values: list[object]) -> list[object]:
    return [c["keys"]["k"] for c in _sorted_cells([{"keys": {"k": v}} for v in values], ["k"])]


def test_absence_bands_follow_their_edges() -> None:
    assert _order(["10-20%", "<5%", ">=50%", None, "5-10%", "20-50%"]) == [
        "<5%",
        "5-10%",
        "10-20%",
        "20-50%",
        ">=50%",
        None,
    ]


def test_measure_bands_and_open_ended_bands_follow_their_edges() -> None:
    assert _order(["10-15", "0-5", "50-100", "5-10"]) == ["0-5", "5-10", "10-15", "50-100"]
    assert _order(["20+", "3-9", "0-2", "10-19"]) == ["0-2", "3-9", "10-19", "20+"]
    assert _order(["<100", ">=280", "160-200", "100-160"]) == [
        "<100",
        "100-160",
        "160-200",
        ">=280",
    ]


def test_other_keys_keep_their_natural_order() -> None:
    assert _order(["2026VT", "2025HT"]) == ["2025HT", "2026VT"]
    assert _order(["2027HT", "2027VT"]) == ["2027VT", "2027HT"]  # spring, then autumn
    assert _order([9, 1, 10]) == [1, 9, 10]
