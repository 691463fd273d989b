"""The synthetic municipality's organisers: most schools municipal, some independent (one
aktiebolag, one stiftelse) and, from nine schools, one state school; each school unit names its
Huvudman, whose organisation number gives the kind truth.json records."""

from __future__ import annotations

import json
from collections import Counter

from linkage.sources.synthetic import SynthSummary
from linkage.sources.synthetic._organisers import plant_organisers
from linkage.sources.synthetic._population import School
from pseudonymise import classify_organisation_number
from tests.unit.linkage.synthetic.conftest import records


def _schools(n: int) -> list[School]:
    return [School(i, f"u{i}", f"{i:08d}", f"S{i}", (1,), 0.0, 0.1, 0.0) for i in range(n)]


def test_the_mix_is_fixed_by_the_school_s_place() -> None:
    schools = _schools(12)
    organisers = plant_organisers(3, "2599", "Exempelby kommun", schools)
    kinds = [organisers[s.organiser].organiser_type for s in schools]
    assert kinds == [
        "municipal",
        "municipal",
        "independent",
        "municipal",
        "independent",
        "municipal",
        "municipal",
        "independent",
        "state",
        "independent",
        "municipal",
        "municipal",
    ]
    assert [o.name for o in organisers] == [
        "Exempelby kommun",
        "Exempelskolor AB",
        "Stiftelsen Exempelbyskolan",
        "Exempelverket",
    ]
    for organiser in organisers:  # the number says what the generator meant
        reading = classify_organisation_number(organiser.organisation_number)
        assert reading.organiser_type.value == organiser.organiser_type, organiser


def test_one_school_is_the_municipality_s_own() -> None:
    schools = _schools(1)
    organisers = plant_organisers(3, "2599", "Exempelby kommun", schools)
    assert [o.organiser_type for o in organisers] == ["municipal"]
    assert schools[0].organiser == 0


def test_each_school_unit_names_a_huvudman_whose_number_gives_truth_s_kind(
    town: SynthSummary,
) -> None:
    organisations = {r["id"]: r for r in records(town.out, "organisations")}
    kinds: Counter[str] = Counter()
    for record in organisations.values():
        if record["organisationType"] != "Skolenhet":
            continue
        organiser = organisations[record["parentOrganisation"]["id"]]
        assert organiser["organisationType"] == "Huvudman"
        reading = classify_organisation_number(organiser["organisationNumber"])
        kinds[reading.organiser_type.value] += 1
    truth = json.loads((town.out / "truth.json").read_text(encoding="utf-8"))
    assert dict(kinds) == truth["counts"]["schools_by_organiser_type"]
    assert set(kinds) == {"municipal", "independent"} and kinds["municipal"] > kinds["independent"]
