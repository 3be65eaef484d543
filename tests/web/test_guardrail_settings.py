"""Settings → Coach → Guardrails: the owner's limits reach every plan check; invalid values are
refused with the reason; an adaptation that only eases training applies by itself when the owner
allows it, and waits for approval otherwise."""

from __future__ import annotations

from dataclasses import fields

import pytest
from sqlalchemy import select

from app import i18n
from app.coach.guardrails import GuardrailLimits
from app.coach.plans import Plan
from app.models import DailyWellness, PlanRevision
from app.services.plans import adapting, follow, limits, revisions
from tests.integration.test_plan_follow import SUNDAY, followed  # noqa: F401
from tests.support.plans import PLAN_START, broken_plan, broken_season, uniform_plan

EN = {"Accept-Language": "en"}


def test_every_guardrail_limit_is_editable_with_a_range_and_a_label_in_both_languages():
    editable = {e.name for e in limits.EDITABLE}
    taper = {f"taper_days.{event}" for event in GuardrailLimits().taper_days}
    assert editable == ({f.name for f in fields(GuardrailLimits)} - {"taper_days"}) | taper
    for e in limits.EDITABLE:
        default = limits._default(e.name)
        assert e.choice or e.low <= default <= e.high, e.name
    for language in ("en", "ko"):
        with i18n.using(language):
            labels = [e.label() for e in limits.EDITABLE]
        assert len(set(labels)) == len(labels), language
    with i18n.using("ko"):
        assert all(any("\uac00" <= c <= "\ud7a3" for c in e.label()) for e in limits.EDITABLE)


def _findings(checked, rule: str) -> list[tuple]:
    return [
        (f.severity, f.code, tuple(sorted(f.params.items())), f.workout_id, f.day)
        for f in checked.report.findings
        if f.rule == rule
    ]


def _over_the_hours() -> Plan:
    """Four standard weeks (about 6.5 hours each) for an owner with five hours a week."""
    return Plan.model_validate(uniform_plan(["build"] * 4, hours_per_week=5))


@pytest.mark.parametrize(
    ("form", "rule", "make_plan"),
    [
        ({"move_unavailable": "no"}, "availability", broken_plan),
        ({"hours_tolerance": "50"}, "weekly_hours", _over_the_hours),
        ({"taper_days.run_10k": "21"}, "taper", broken_plan),
        ({"taper_cut_min": "50"}, "taper", broken_plan),
        ({"hard_min_s": "30"}, "hard_days", broken_plan),
        ({"recovery_cut": "50"}, "recovery_week", broken_plan),
        ({"ramp_min_scale": "90"}, "ctl_ramp", broken_plan),
        ({"spike_window_days": "7"}, "session_spike", broken_plan),
    ],
)
def test_a_changed_limit_changes_what_the_plan_check_finds(
    signed_in, sessions, form, rule, make_plan
):
    plan = make_plan()
    default = revisions.check(sessions, plan, today=PLAN_START)
    response = signed_in.post("/settings/coach/guardrails", data=form)
    assert response.status_code == 303, response.text
    changed = revisions.check(sessions, plan, today=PLAN_START)
    assert _findings(changed, rule) != _findings(default, rule)


def test_the_owners_limits_reach_the_plan_check(signed_in, sessions, owner):
    plan = broken_season()  # no recovery weeks, no taper: the CTL ramp rule cuts weeks
    default = revisions.check(sessions, plan, today=PLAN_START)
    response = signed_in.post(
        "/settings/coach/guardrails", data={"ramp_at_low_ctl": "15"}, follow_redirects=False
    )
    assert response.status_code == 303
    with sessions() as session:
        assert limits.load_limits(session).ramp_at_low_ctl == 15
    loosened = revisions.check(sessions, plan, today=PLAN_START)
    ramp_before = [f for f in default.report.findings if f.rule == "ctl_ramp"]
    ramp_after = [f for f in loosened.report.findings if f.rule == "ctl_ramp"]
    assert ramp_before and len(ramp_after) < len(ramp_before)
    page = signed_in.get("/settings/coach/guardrails", headers=EN).text
    assert 'name="ramp_at_low_ctl" value="15' in page


def test_an_invalid_limit_is_refused_with_the_reason_and_nothing_changes(signed_in, sessions):
    response = signed_in.post(
        "/settings/coach/guardrails",
        data={"max_hard_days_in_row": "9", "readiness_min": "abc"},
        headers=EN,
    )
    assert response.status_code == 422
    assert 'data-testid="error-max_hard_days_in_row"' in response.text
    assert "Between 1 and 4." in response.text
    assert 'data-testid="error-readiness_min"' in response.text
    with sessions() as session:
        assert limits.load_limits(session) == GuardrailLimits()


def test_an_easier_only_adaptation_applies_by_itself_only_when_allowed(
    signed_in,
    sessions,
    followed,  # noqa: F811
):
    with sessions.begin() as session:
        session.add(DailyWellness(day=SUNDAY, training_readiness=20))
    follow.follow_up(sessions, today=SUNDAY)
    signed_in.post("/settings/coach/guardrails", data={"auto_approve_easier": "yes"})
    made = adapting.propose_adaptations(sessions, today=SUNDAY)
    assert len(made) == 1
    with sessions() as session:
        revision = session.get(PlanRevision, made[0].revision_id)
        assert revision.state == "APPROVED" and revision.origin == "adaptation"
        approved = session.scalars(
            select(PlanRevision).where(PlanRevision.state == "APPROVED")
        ).all()
    assert [r.id for r in approved] == [made[0].revision_id]
    assert Plan.model_validate(revision.content).workout("w1-sun") is not None


def test_limits_out_of_order_are_refused_and_the_page_shows_every_limit_by_section(
    signed_in, sessions
):
    response = signed_in.post(
        "/settings/coach/guardrails",
        data={"ramp_low_ctl": "80", "ramp_high_ctl": "70", "move_unavailable": "maybe"},
        headers=EN,
    )
    assert response.status_code == 422
    assert 'data-testid="error-ramp_high_ctl"' in response.text
    assert "Must be above" in response.text
    assert 'data-testid="error-move_unavailable"' in response.text
    with sessions() as session:
        assert limits.load_limits(session) == GuardrailLimits()

    saved = signed_in.post(
        "/settings/coach/guardrails",
        data={"taper_days.marathon": "21", "hard_min_s": "10", "spike_floor_m": "8"},
    )
    assert saved.status_code == 303
    with sessions() as session:
        found = limits.load_limits(session)
    assert found.taper_days["marathon"] == 21 and found.taper_days["run_5k"] == 7
    assert (found.hard_min_s, found.spike_floor_m) == (600, 8000)
    page = signed_in.get("/settings/coach/guardrails", headers={"Accept-Language": "ko"}).text
    for e in limits.EDITABLE:
        assert f'name="{e.name}"' in page
    for key, _title in limits.SECTIONS:
        assert f'data-testid="limits-{key}"' in page
    assert "대회 전 테이퍼" in page and 'name="taper_days.marathon" value="21"' in page
    assert 'name="hard_min_s" value="10' in page and 'name="spike_floor_m" value="8' in page
