"""The mission builder: the wizard, the model's draft into a mission with every error placed,
and the wrap-up with its numbers computed by code."""

from __future__ import annotations

import copy
from datetime import date, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from app.coach.llm_schema import DraftInvalid
from app.coach.mission_draft import (
    LlmMissionDraft,
    LlmWrapUp,
    MissionWizard,
    event_summary,
    llm_mission_schema,
    llm_wrap_up_schema,
    mission_from_draft,
    wizard_errors,
    wrap_up_from_llm,
)
from app.coach.missions import MissionConstraints, default_phases
from app.coach.points import StageCorrection, score_event
from tests.support.missions import (
    TOUR_START,
    TOUR_TYPES,
    TOUR_ZONE,
    tour_rides,
    tour_stages,
)
from tests.unit.coach.test_llm_schema import strict_violations

TOUR_END = TOUR_START + timedelta(days=22)
PREP = date(2027, 3, 1)


def wizard(**changes: Any) -> MissionWizard:
    data: dict[str, Any] = {
        "event_name": "Virtual Tour 2027",
        "event_start": TOUR_START,
        "event_end": TOUR_END,
        "type": "road_stage_race",
        "time_zone": TOUR_ZONE,
        "weekly_hours_min": 6,
        "weekly_hours_max": 10,
        "training_days": ["tue", "wed", "thu", "sat", "sun"],
        "ftp_w": 250,
        "constraints": {"min_readiness": 65, "notes": "No rides before 6 am."},
        "style": "breakaway",
        "notify_by": ["email"],
    }
    data.update(changes)
    return MissionWizard.model_validate(data)


def draft_data() -> dict[str, Any]:
    """What a good model answers for the tour."""
    return {
        "prep_start": PREP.isoformat(),
        "event_start": TOUR_START.isoformat(),
        "event_end": TOUR_END.isoformat(),
        "goal": "Finish all 21 stages and take the mountains in breakaway.",
        "phases": [
            {"phase": span.phase, "start": span.start.isoformat(), "end": span.end.isoformat()}
            for span in default_phases(PREP, TOUR_START)
        ],
        "points": {
            "stages": [
                {"stage_type": "flat", "gc": 5, "breakaway": 8},
                {"stage_type": "hilly", "gc": 7, "breakaway": 11},
                {"stage_type": "mountain", "gc": 10, "breakaway": 15},
                {"stage_type": "itt", "gc": 4, "breakaway": 6},
                {"stage_type": "mountain_itt", "gc": 6, "breakaway": 9},
            ],
            "gc_min_if": 0.7,
            "gc_min_tss": 40,
            "breakaway_min_if": 0.85,
            "breakaway_min_tss": 60,
            "bonuses": [
                {"kind": "stages_in_row", "count": 5, "points": 5},
                {"kind": "breakaways", "count": 10, "points": 15},
                {"kind": "mountains_in_breakaway", "count": None, "points": 10},
                {"kind": "final_week", "count": None, "points": 10},
                {"kind": "all_stages", "count": None, "points": 25},
            ],
        },
        "stages": [
            {
                "number": stage.number,
                "date": stage.date.isoformat(),
                "type": stage.type,
                "name": None,
            }
            for stage in tour_stages()
        ],
        "constraints": {
            "min_readiness": 55,
            "min_tsb": -15,
            "max_hard_days_per_week": 3,
            "notes": "Keep Mondays easy.",
        },
        "notes": "Two rest days; the Alps come in the third week.",
    }


def test_the_draft_schemas_are_strict():
    assert strict_violations(llm_mission_schema()) == []
    assert strict_violations(llm_wrap_up_schema()) == []


def test_a_good_draft_becomes_the_mission_with_the_owners_answers_winning():
    draft = LlmMissionDraft.model_validate_json(
        LlmMissionDraft.model_validate(draft_data()).model_dump_json()
    )
    mission = mission_from_draft(draft, wizard())
    assert (mission.name, mission.type, mission.time_zone) == (
        "Virtual Tour 2027",
        "road_stage_race",
        TOUR_ZONE,
    )
    assert (mission.prep_start, mission.event_start, mission.event_end) == (
        PREP,
        TOUR_START,
        TOUR_END,
    )
    assert (mission.style, mission.notify_by) == ("breakaway", ["email"])
    assert len(mission.racing_stages) == 21 and len(mission.stages) == 23
    assert [span.phase for span in mission.phases] == ["base", "build", "peak", "taper"]
    # The owner's minimum readiness wins; the model's other constraints fill in.
    assert mission.constraints == MissionConstraints(
        min_readiness=65,
        min_tsb=-15,
        max_hard_days_per_week=3,
        notes="No rides before 6 am.\nKeep Mondays easy.",
    )
    assert mission.points.stage_points.mountain.breakaway == 15
    assert [b.kind for b in mission.points.bonuses][-1] == "all_stages"
    assert mission.goal.startswith("Finish all 21 stages")


def test_a_one_day_event_needs_no_stages():
    data = draft_data()
    day = TOUR_START
    data.update(event_end=day.isoformat(), stages=[])
    mission = mission_from_draft(
        LlmMissionDraft.model_validate(data), wizard(event_end=None, type="gran_fondo")
    )
    assert mission.event_end == mission.event_start == day and mission.stages == []


def test_a_malformed_draft_is_refused_with_every_error_in_its_place():
    data = copy.deepcopy(draft_data())
    data["event_start"] = (TOUR_START + timedelta(days=1)).isoformat()  # moved the event
    data["phases"][1]["phase"] = "peak"  # base, peak, peak, taper
    data["points"]["stages"][3] = {"stage_type": "flat", "gc": 5, "breakaway": 8}  # itt missing
    data["points"]["stages"][2]["gc"] = -3
    data["points"]["breakaway_min_if"] = 0.6  # under GC's
    data["points"]["bonuses"][0]["count"] = None
    data["points"]["bonuses"][1]["count"] = 500
    data["stages"][2]["date"] = "2027-07-5"  # not a date
    data["stages"][4]["date"] = data["stages"][3]["date"]  # two stages on one day
    data["stages"][9]["number"] = 10  # the first rest day, numbered
    data["stages"][22]["date"] = (TOUR_END + timedelta(days=2)).isoformat()  # after the event
    data["constraints"]["min_readiness"] = 140
    with pytest.raises(DraftInvalid) as caught:
        mission_from_draft(LlmMissionDraft.model_validate(data), wizard())
    placed = {(e.loc, e.code) for e in caught.value.errors}
    expected = {
        (("event_start",), "event_date_changed"),
        (("stages", 2, "date"), "date_invalid"),
        (("stages", 9), "rest_day_numbered"),
        (("points", "stages", 3, "stage_type"), "stage_points_repeated"),
        (("points", "stages"), "stage_points_missing"),
        (("points", "stages", 2, "gc"), "greater_than_equal"),
        (("points",), "thresholds_order"),
        (("points", "bonuses", 0, "count"), "bonus_count_missing"),
        (("points", "bonuses", 1, "count"), "less_than_equal"),
        (("constraints", "min_readiness"), "less_than_equal"),
        (("phases", 2, "phase"), "phases_order"),
        (("stages", 4, "date"), "stage_date_repeated"),
        (("stages", 22, "date"), "stage_outside_event"),
    }
    assert expected <= placed, sorted(placed - expected)
    missing = next(e for e in caught.value.errors if e.code == "stage_points_missing")
    assert missing.params == {"stage_type": "itt"}
    assert not any(e.code == "stage_number_order" for e in caught.value.errors)  # no cascade
    assert "event_start: 2027-07-04 is not the owner's date 2027-07-03" in str(caught.value)


def test_the_wizard_refuses_what_cannot_be():
    with pytest.raises(ValidationError) as caught:
        wizard(weekly_hours_min=12)
    assert caught.value.errors()[0]["type"] == "hours_order"
    with pytest.raises(ValidationError) as caught:
        wizard(training_days=["tue", "tue"])
    assert caught.value.errors()[0]["type"] == "weekday_repeated"
    with pytest.raises(ValidationError) as caught:
        wizard(event_end=TOUR_START - timedelta(days=1))
    assert caught.value.errors()[0]["type"] == "event_end_before_start"
    with pytest.raises(ValidationError) as caught:
        wizard(time_zone="Seoul")
    assert caught.value.errors()[0]["type"] == "time_zone_unknown"
    assert wizard_errors(wizard(), today=TOUR_START - timedelta(days=1)) == []
    [late] = wizard_errors(wizard(), today=TOUR_START)
    assert (late.loc, late.code) == (("event_start",), "event_in_past")


# --------------------------------------------------------------------------------------------
# The wrap-up


def finished_tour():
    modes = {n: ("breakaway" if TOUR_TYPES[n] == "mountain" else "gc") for n in range(1, 22)}
    del modes[13]  # the mountain time trial, missed
    modes[3] = "rest"
    corrections = [StageCorrection(stage=13, mode="gc", reason="Rode it outdoors, no file.")]
    return score_event(
        tour_stages(), tour_rides(modes), time_zone=TOUR_ZONE, corrections=corrections
    )


def test_the_events_numbers_are_computed_from_its_stages():
    summary = event_summary(finished_tour(), ctl_start=72.4, ctl_end=78.9)
    assert (summary.stages_total, summary.stages_ridden, summary.stages_missed) == (21, 20, 0)
    assert (summary.breakaways, summary.gc, summary.rest_rides, summary.corrected) == (6, 14, 1, 1)
    # Six mountain stages in breakaway, the rest GC but stage 3 (a flat stage ridden too easy).
    gc_points = {"flat": 5, "hilly": 7, "itt": 4, "mountain_itt": 6}
    expected = 6 * 15 + sum(
        gc_points[TOUR_TYPES[n]] for n in range(1, 22) if TOUR_TYPES[n] != "mountain" and n != 3
    )
    assert summary.stage_points == expected
    assert summary.bonuses_earned == ("stages_in_row", "mountains_in_breakaway", "final_week")
    assert summary.bonuses_missed == ("breakaways", "all_stages")
    assert summary.total_points == expected + 5 + 10 + 10
    assert summary.longest_streak == 18  # stages 4 to 21
    assert summary.total_tss == pytest.approx(6 * 95 + 13 * 70 + 25)
    assert summary.hardest_stage == 10 and summary.hardest_tss == 95
    assert summary.mean_if == pytest.approx((6 * 0.90 + 13 * 0.76 + 0.55) / 20)
    numbers = summary.as_dict()
    assert numbers["ctl_end"] == 78.9 and numbers["total_hours"] == 40.0


def test_the_wrap_up_keeps_the_computed_numbers_next_to_the_coachs_words():
    summary = event_summary(finished_tour())
    answer = LlmWrapUp(
        headline="Twenty of twenty-one stages, every mountain in the break.",
        went_well=["Six breakaways in the mountains.", "  "],
        to_change=["Ride stage 3 at GC pace: easy days still count."],
    )
    wrap_up = wrap_up_from_llm(answer, summary)
    assert wrap_up.went_well == ["Six breakaways in the mountains."]
    assert wrap_up.numbers == summary.as_dict()
    empty = LlmWrapUp(headline=" ", went_well=[], to_change=["x" * 600])
    with pytest.raises(DraftInvalid) as caught:
        wrap_up_from_llm(empty, summary)
    assert [(e.loc, e.code) for e in caught.value.errors] == [
        (("headline",), "text_missing"),
        (("went_well",), "wrap_up_empty"),
    ]
    too_long = LlmWrapUp(headline="Done.", went_well=["ok"], to_change=["x" * 600])
    with pytest.raises(DraftInvalid) as caught:
        wrap_up_from_llm(too_long, summary)
    assert [e.code for e in caught.value.errors] == ["text_too_long"]
