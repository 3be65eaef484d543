"""What the plan pages keep between requests is kept per database: revision ids are only
unique within one, and one process may serve several (the browser tests' live server next to
the other tests' database)."""

from __future__ import annotations

from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from app.coach.plans import Plan
from app.db.migrate import upgrade
from app.models import PlanRevision, TrainingPlan
from app.services.plans import memo
from app.services.plans.revisions import content_json
from tests.support.plans import uniform_plan

SAME_ID = 987_654


def _store(sessions, title: str) -> None:
    plan = Plan.model_validate({**uniform_plan(["base"]), "title": title})
    with sessions.begin() as session:
        session.add(TrainingPlan(id=SAME_ID, title=title, goal_summary=title))
        session.flush()
        session.add(
            PlanRevision(
                id=SAME_ID,
                plan_id=SAME_ID,
                number=1,
                state="PROPOSED",
                origin="import",
                content=content_json(plan),
            )
        )


def test_two_databases_with_the_same_revision_id_keep_their_own_plans(pg_cluster, sessions):
    other_url = pg_cluster.create_database("domestique_memo_other")
    upgrade(other_url)
    engine = create_engine(other_url)
    try:
        other = sessionmaker(engine, expire_on_commit=False)
        _store(sessions, "Here")
        _store(other, "There")
        memo.forget_all()
        with sessions() as session:
            assert memo.revision_plan(session, SAME_ID).title == "Here"
        with other() as session:
            assert memo.revision_plan(session, SAME_ID).title == "There"
            assert set(memo.revision_workouts(session, SAME_ID)) == {
                w.id for w in memo.revision_plan(session, SAME_ID).workouts
            }
    finally:
        engine.dispose()
