"""Settings → Coach → Guardrails: the owner's limits reach every plan check; invalid values are
refused with the reason; an adaptation that only eases training applies by itself when the owner
allows it, and waits for approval otherwise."""

from __future__ import annotations

from dataclasses import fields

from sqlalchemy import select

from app.coach.guardrails import GuardrailLimits
from app.coach.plans import Plan
from app.models import DailyWellness, PlanRevision
from app.services.plans import adapting, follow, limits, revisions
from tests.integration.test_plan_follow import SUNDAY, followed  # noqa: F401
from tests.support.plans import PLAN_START, broken_season

EN = {"Accept-Language": "en"}


def test_every_editable_limit_is_a_guardrail_limit():
    assert {e.name for e in limits.EDITABLE} <= {f.name for f in fields(GuardrailLimits)}


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
