"""The Missions page: the missions with their state and countdown, importing one, and each
mission's page (stage plan, lifecycle, the owner's moves)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from app import i18n
from app.services import missions
from app.services.metrics.recompute import owner_today
from app.services.missions import drafting
from app.services.missions import plan as mission_plan
from app.services.plans import drafting as plan_drafting
from app.web.templating import render

router = APIRouter()


def _now() -> datetime:
    return datetime.now(UTC)


async def _list_page(
    request: Request,
    *,
    problems: list[missions.MissionProblem] | None = None,
    wizard_problems: list[missions.MissionProblem] | None = None,
    status: int = 200,
) -> Response:
    sessions = request.app.state.sessions

    def read() -> tuple[list[missions.MissionSummary], drafting.Prefill]:
        with sessions() as session:
            return missions.list_missions(session, _now()), drafting.prefill(session)

    summaries, start = await run_in_threadpool(read)
    return render(
        request,
        "missions/page.html",
        {
            "missions": summaries,
            "problems": problems or [],
            "wizard_problems": wizard_problems or [],
            "prefill": start,
            "draft": request.app.state.work_runner.last_mission_draft,
            "weekdays": drafting.weekday_choices(),
        },
        fragment="missions/_content.html",
        status_code=status,
    )


@router.get("/missions", name="missions")
async def missions_page(request: Request) -> Response:
    return await _list_page(request)


@router.post("/missions/import", name="missions:import")
async def missions_import(request: Request) -> Response:
    """A mission JSON file (the body limit of every form applies: a mission is a few KB)."""
    form = await request.form(max_files=1, max_fields=3)
    upload = form.get("file")
    if upload is None or isinstance(upload, str) or not upload.filename:
        data: bytes = b""
    else:
        data = await upload.read(missions.lifecycle.MAX_DOCUMENT_BYTES + 1)
        await upload.close()
    try:
        mission_id = await run_in_threadpool(
            missions.import_mission, request.app.state.sessions, data
        )
    except missions.MissionInvalid as invalid:
        return await _list_page(request, problems=invalid.problems, status=422)
    url = request.url_for("missions:detail", mission_id=mission_id)
    return RedirectResponse(str(url), status_code=303)


async def _detail_page(
    request: Request, mission_id: int, *, error: str | None = None, status: int = 200
) -> Response:
    sessions = request.app.state.sessions

    def read() -> missions.MissionPage | None:
        with sessions() as session:
            return missions.mission_page(session, mission_id, _now())

    page = await run_in_threadpool(read)
    if page is None:
        return render(request, "missions/missing.html", {}, status_code=404)
    return render(
        request,
        "missions/detail.html",
        {
            "view": page.view,
            "page": page,
            "error": error,
            "draft": request.app.state.work_runner.last_plan_draft,
        },
        fragment="missions/_detail.html",
        status_code=status,
    )


@router.get("/missions/{mission_id}", name="missions:detail")
async def mission_detail(request: Request, mission_id: int) -> Response:
    return await _detail_page(request, mission_id)


@router.post("/missions/{mission_id}/move", name="missions:move")
async def mission_move(request: Request, mission_id: int) -> Response:
    form = await request.form(max_files=0, max_fields=3)
    try:
        target = missions.MissionState(str(form.get("target", "")))
    except ValueError:
        return await _detail_page(
            request, mission_id, error=missions.sentence("transition_not_allowed", {}), status=400
        )
    try:
        await run_in_threadpool(
            lambda: missions.move(request.app.state.sessions, mission_id, target, now_utc=_now())
        )
    except missions.MissionRefused as refused:
        status = 404 if refused.code == "mission_not_found" else 409
        return await _detail_page(request, mission_id, error=refused.message, status=status)
    url = request.url_for("missions:detail", mission_id=mission_id)
    return RedirectResponse(str(url), status_code=303)


@router.post("/missions/{mission_id}/plan", name="missions:plan")
async def mission_plan_draft(request: Request, mission_id: int) -> Response:
    """The mission seeds a plan: the planner drafts it in the background from the mission's
    questionnaire with the owner's changes; the page follows it, the Plan page approves it."""
    state = request.app.state
    form = await request.form(max_files=0, max_fields=20)
    changes: dict[str, object] = {
        name: str(form.get(name))[:limit]
        for name, limit in (
            ("start", 20),
            ("hours_per_week", 8),
            ("long_day", 8),
            ("injuries", 1000),
            ("notes", 2000),
        )
        if name in form  # a field left out keeps the mission's answer
    }
    if "weekdays" in form:
        changes["weekdays"] = tuple(v for v in form.getlist("weekdays")[:7] if isinstance(v, str))
    try:
        await run_in_threadpool(
            lambda: mission_plan.submit_mission_plan(
                state.work_runner,
                state.sessions,
                state.settings,
                state.secret_box,
                mission_id,
                changes,
                language=i18n.current_locale.get(),
                clock=state.llm_clock,
            )
        )
    except mission_plan.PlanRefused as refused:
        status = 404 if refused.code == "mission_not_found" else 409
        return await _detail_page(request, mission_id, error=refused.sentence, status=status)
    except plan_drafting.DraftFormInvalid as invalid:
        error = " ".join(invalid.problems[:10])
        return await _detail_page(request, mission_id, error=error, status=422)
    url = request.url_for("missions:detail", mission_id=mission_id)
    return RedirectResponse(f"{url}#mission-plan", status_code=303)


@router.post("/missions/{mission_id}/notify", name="missions:notify")
async def mission_notify(request: Request, mission_id: int) -> Response:
    """How the owner wants to be told each morning: the dashboard only, or e-mail too."""
    form = await request.form(max_files=0, max_fields=3)
    notify_by = missions.lifecycle.notify_from_form(str(form.get("notify", "")))
    try:
        await run_in_threadpool(
            missions.set_notify_by, request.app.state.sessions, mission_id, notify_by
        )
    except missions.MissionRefused as refused:
        status = 404 if refused.code == "mission_not_found" else 409
        return await _detail_page(request, mission_id, error=refused.message, status=status)
    url = request.url_for("missions:detail", mission_id=mission_id)
    return RedirectResponse(str(url), status_code=303)


@router.post("/missions/{mission_id}/delete", name="missions:delete")
async def mission_delete(request: Request, mission_id: int) -> Response:
    try:
        await run_in_threadpool(missions.delete_mission, request.app.state.sessions, mission_id)
    except missions.MissionRefused as refused:
        status = 404 if refused.code == "mission_not_found" else 409
        return await _detail_page(request, mission_id, error=refused.message, status=status)
    return RedirectResponse(str(request.url_for("missions")), status_code=303)


@router.post("/missions/{mission_id}/stages/{stage}/correct", name="missions:correct")
async def stage_correct(request: Request, mission_id: int, stage: int) -> Response:
    """The owner's correction of a stage: the activity that rode it and/or the mode, and why."""
    form = await request.form(max_files=0, max_fields=5)
    try:
        correction = missions.event.correction_from_form(
            stage,
            activity_id=str(form.get("activity_id", "")),
            mode=str(form.get("mode", "")),
            reason=str(form.get("reason", "")),
        )
        await run_in_threadpool(
            lambda: missions.event.correct_stage(
                request.app.state.sessions, mission_id, correction, now_utc=_now()
            )
        )
    except missions.MissionRefused as refused:
        status = 404 if refused.code == "mission_not_found" else 409
        return await _detail_page(request, mission_id, error=refused.message, status=status)
    url = request.url_for("missions:detail", mission_id=mission_id)
    return RedirectResponse(f"{url}#stage-{stage}", status_code=303)


@router.post("/missions/{mission_id}/stages/{stage}/clear", name="missions:clear_correction")
async def stage_clear(request: Request, mission_id: int, stage: int) -> Response:
    try:
        await run_in_threadpool(
            missions.event.clear_correction, request.app.state.sessions, mission_id, stage
        )
    except missions.MissionRefused as refused:
        status = 404 if refused.code == "mission_not_found" else 409
        return await _detail_page(request, mission_id, error=refused.message, status=status)
    url = request.url_for("missions:detail", mission_id=mission_id)
    return RedirectResponse(f"{url}#stage-{stage}", status_code=303)


@router.post("/coach/day", name="coach:day")
async def coach_day_now(request: Request) -> Response:
    """Ask the daily coach for today's decision now; the dashboard shows it when it is there."""
    request.app.state.work_runner.submit_coach_day()
    return RedirectResponse(str(request.url_for("dashboard")), status_code=303)


@router.post("/missions/draft", name="missions:draft")
async def mission_draft(request: Request) -> Response:
    """The mission builder: the answers are checked, the coach drafts in the background."""
    state = request.app.state
    form = await request.form(max_files=0, max_fields=30)
    days = [str(d) for d in form.getlist("training_days")][:7]
    fields = {k: str(v)[:200] for k, v in form.items() if isinstance(v, str)}

    def check() -> object:
        with state.sessions() as session:
            today = owner_today(session)
        return drafting.wizard_from_form(fields, days, today)

    try:
        wizard = await run_in_threadpool(check)
    except drafting.WizardInvalid as invalid:
        return await _list_page(request, wizard_problems=invalid.problems, status=422)
    await run_in_threadpool(
        lambda: drafting.submit_draft(
            state.work_runner,
            state.sessions,
            state.settings,
            state.secret_box,
            wizard,
            language=i18n.current_locale.get(),
            clock=state.llm_clock,
        )
    )
    return RedirectResponse(f"{request.url_for('missions')}#builder", status_code=303)


@router.get("/missions/draft/status", name="missions:draft_status")
async def mission_draft_status(request: Request) -> Response:
    """How the draft is going (the part of the page that follows it while it runs)."""
    return render(
        request,
        "missions/_draft_status.html",
        {"draft": request.app.state.work_runner.last_mission_draft},
    )


@router.post("/missions/{mission_id}/wrap-up", name="missions:wrap_up")
async def mission_wrap_up(request: Request, mission_id: int) -> Response:
    """Ask the coach for the wrap-up again (after the event; it runs in the background)."""
    request.app.state.work_runner.submit_wrap_up(mission_id)
    url = request.url_for("missions:detail", mission_id=mission_id)
    return RedirectResponse(f"{url}#wrap-up", status_code=303)
