"""Settings → Coach: the language model (endpoint, model, key, embedding model, timeout,
*Test connection*), the monthly budget and this month's usage, prices, the audit's retention and
the coach's language; and *What the coach sees* (the last call of each purpose, the snapshot the
next call would send, the groups the owner withholds); *Ask the coach* on the Plan page and the
library passage a citation links to."""

from __future__ import annotations

import functools

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from app import i18n
from app.services.coach import ask as ask_service
from app.services.coach import library_page, pages
from app.services.coach.config import SettingsForm
from app.services.plans import chat as plan_chat
from app.services.plans import drafting as plan_drafting
from app.services.plans import limits as limits_service
from app.services.plans import page as plans_page
from app.services.plans import revisions as plan_revisions
from app.web.templating import is_fragment_request, render

router = APIRouter()

MAX_FIELD = 1000
MAX_PRICE_ROWS = 40


def _text(form: FormData, name: str, limit: int = 500) -> str:
    value = form.get(name, "")
    return value[:limit] if isinstance(value, str) else ""


def _settings_form(form: FormData) -> SettingsForm:
    models = form.getlist("price_model")[:MAX_PRICE_ROWS]
    prompts = form.getlist("price_prompt")[:MAX_PRICE_ROWS]
    completions = form.getlist("price_completion")[:MAX_PRICE_ROWS]
    rows = [
        tuple(value[:200] if isinstance(value, str) else "" for value in row)
        for row in zip(models, prompts, completions, strict=False)
    ]
    return SettingsForm(
        base_url=_text(form, "base_url"),
        model=_text(form, "model"),
        api_key=_text(form, "api_key", MAX_FIELD),
        forget_key=_text(form, "forget_key") == "yes",
        embedding_model=_text(form, "embedding_model"),
        timeout_s=_text(form, "timeout_s", 40),
        token_budget=_text(form, "token_budget", 40),
        cost_budget_usd=_text(form, "cost_budget_usd", 40),
        retention_days=_text(form, "retention_days", 40),
        language=_text(form, "language", 8),
        prices=rows,  # type: ignore[arg-type]
    )


def _render(request: Request, page: pages.SettingsPage, *, saved: bool = False) -> Response:
    status = 422 if page.error else 200
    return render(
        request,
        "coach/settings.html",
        {"page": page, "saved": saved},
        fragment="coach/_settings.html",
        status_code=status,
    )


@router.get("/settings/coach", name="coach:settings")
async def settings_page(request: Request, saved: bool = False) -> Response:
    state = request.app.state
    page = await run_in_threadpool(pages.settings_page, state.sessions, state.settings)
    return _render(request, page, saved=saved)


@router.post("/settings/coach", name="coach:save")
async def save(request: Request) -> Response:
    state = request.app.state
    form = _settings_form(await request.form())
    refused = await run_in_threadpool(
        functools.partial(pages.save, runner=state.work_runner),
        state.sessions,
        state.settings,
        state.secret_box,
        form,
    )
    if refused is not None:
        return _render(request, refused)
    url = request.url_for("coach:settings").include_query_params(saved=1)
    return RedirectResponse(str(url), status_code=303)


@router.post("/settings/coach/test", name="coach:test")
async def test_connection(request: Request) -> Response:
    """Save what the form says, then try it: the result in words, on the page (or in the part
    of it HTMX swaps)."""
    state = request.app.state
    form = _settings_form(await request.form())
    page = await run_in_threadpool(
        pages.save_and_test,
        state.sessions,
        state.settings,
        state.secret_box,
        form,
        clock=state.llm_clock,
        runner=state.work_runner,
    )
    return _render(request, page, saved=page.error is None)


@router.get("/settings/coach/context", name="coach:context")
async def context_page(request: Request) -> Response:
    state = request.app.state
    page = await run_in_threadpool(pages.context_page, state.sessions, state.settings)
    return render(
        request,
        "coach/context.html",
        {"page": page, "saved": request.query_params.get("saved") == "1"},
        fragment="coach/_context.html",
    )


@router.post("/settings/coach/context", name="coach:withhold")
async def withhold(request: Request) -> Response:
    form = await request.form()
    groups = [g for g in form.getlist("withhold") if isinstance(g, str)][:10]
    try:
        await run_in_threadpool(pages.save_withheld, request.app.state.sessions, groups)
    except pages.config.CoachSettingsError:
        return Response(status_code=400)
    url = request.url_for("coach:context").include_query_params(saved=1)
    return RedirectResponse(str(url), status_code=303)


# --- Ask the coach (the Plan page) ----------------------------------------------------------


def _conversation_id(value: object) -> int | None:
    if isinstance(value, str) and value.isdigit() and len(value) < 19:
        return int(value)
    return None


async def _render_plan(
    request: Request,
    page: ask_service.AskPage,
    *,
    status: int = 200,
    import_error: list[str] | None = None,
    chat: plan_chat.ChatOutcome | None = None,
) -> Response:
    plans = await run_in_threadpool(
        functools.partial(
            plans_page.plan_page,
            ask=page,
            import_error=import_error,
            chat=chat,
            draft=request.app.state.work_runner.last_plan_draft,
        ),
        request.app.state.sessions,
    )
    return render(
        request,
        "plan/page.html",
        {"page": page, "plans": plans},
        fragment="plan/_content.html",
        status_code=status,
    )


@router.get("/plan", name="plan")
async def plan_page(request: Request, c: str = "", q: str = "") -> Response:
    state = request.app.state
    page = await run_in_threadpool(
        ask_service.ask_page,
        state.sessions,
        state.settings,
        conversation_id=_conversation_id(c),
        query=q[:MAX_FIELD],
    )
    return await _render_plan(request, page)


@router.post("/plan/ask", name="coach:ask")
async def ask(request: Request) -> Response:
    """Keep the question and queue its answer (the work runner asks the model); the page of
    its conversation then waits for the reply without holding this request open."""
    state = request.app.state
    form = await request.form()
    question = _text(form, "question", ask_service.prompt.MAX_QUESTION_CHARS + 1)
    conversation_id = _conversation_id(form.get("conversation"))
    try:
        kept = await run_in_threadpool(
            ask_service.ask_in_background,
            state.sessions,
            state.settings,
            state.secret_box,
            state.work_runner,
            question,
            conversation_id=conversation_id,
            clock=state.llm_clock,
        )
    except ask_service.AskError as error:
        page = await run_in_threadpool(
            ask_service.ask_page,
            state.sessions,
            state.settings,
            conversation_id=conversation_id if error.code != "not_found" else None,
            error=ask_service.error_sentence(error.code),
            typed=question if error.code != "pending" else "",
        )
        return await _render_plan(request, page, status=422)
    if kept is None:  # no model: the library's passages, and how to set one up
        page = await run_in_threadpool(
            ask_service.ask_page, state.sessions, state.settings, query=question
        )
        return await _render_plan(request, page)
    url = request.url_for("plan").include_query_params(c=kept.conversation_id)
    return RedirectResponse(f"{url}#latest", status_code=303)


@router.get("/plan/conversations/{conversation_id}/ask", name="coach:conversation_ask")
async def conversation_ask(request: Request, conversation_id: int) -> Response:
    """The conversation's part of the Plan page: what a pending question's poll swaps in,
    again while the answer is awaited, with the reply once it is kept."""
    state = request.app.state
    if not is_fragment_request(request):  # a browser opening the poll's address: the page
        url = request.url_for("plan").include_query_params(c=conversation_id)
        return RedirectResponse(f"{url}#latest", status_code=303)
    page = await run_in_threadpool(
        ask_service.ask_page, state.sessions, state.settings, conversation_id=conversation_id
    )
    if page.current is None:
        return Response(status_code=404)
    return render(
        request,
        "plan/page.html",
        {"page": page},
        fragment="plan/_ask.html",
        headers={"Cache-Control": "no-store"},
    )


@router.post("/plan/conversations/{conversation_id}/delete", name="coach:delete_conversation")
async def delete_conversation(request: Request, conversation_id: int) -> Response:
    await run_in_threadpool(
        ask_service.delete_conversation, request.app.state.sessions, conversation_id
    )
    return RedirectResponse(str(request.url_for("plan")), status_code=303)


@router.post("/plan/revisions/{revision_id}/approve", name="plan:approve")
async def approve_revision(request: Request, revision_id: int) -> Response:
    """Approve a proposed revision; a blocked one only with the "I accept" box ticked."""
    form = await request.form()
    return await _decide(
        request,
        functools.partial(
            plan_revisions.approve, accept_blocks=_text(form, "accept_blocks", 8) == "yes"
        ),
        revision_id,
    )


@router.post("/plan/revisions/{revision_id}/reject", name="plan:reject")
async def reject_revision(request: Request, revision_id: int) -> Response:
    return await _decide(request, plan_revisions.reject, revision_id)


async def _decide(request: Request, decide, revision_id: int) -> Response:
    state = request.app.state
    try:
        await run_in_threadpool(decide, state.sessions, revision_id)
    except plan_revisions.PlanError as error:
        page = await run_in_threadpool(ask_service.ask_page, state.sessions, state.settings)
        sentence = plan_revisions.error_sentence(error.code, **error.params)
        status = 404 if error.code == "not_found" else 409
        return await _render_plan(request, page, status=status, import_error=[sentence])
    if decide is not plan_revisions.reject:  # an approval: the watch follows the plan
        state.work_runner.submit_garmin_push()
    return RedirectResponse(f"{request.url_for('plan')}#current-plan", status_code=303)


@router.post("/plan/chat", name="plan:chat")
async def chat_about_plan(request: Request) -> Response:
    """The owner's message about the plan: the coach's answer, and a proposed revision when it
    answered with a change set (shown on the page with its report and differences)."""
    state = request.app.state
    form = await request.form()
    target = _text(form, "plan", 20)
    message = _text(form, "message", plan_chat.prompt.MAX_MESSAGE_CHARS + 1)
    if not target.isdigit():
        return Response(status_code=400)
    try:
        outcome = await run_in_threadpool(
            functools.partial(plan_chat.chat, clock=state.llm_clock),
            state.sessions,
            state.settings,
            state.secret_box,
            int(target),
            message,
        )
    except plan_revisions.PlanError as error:
        page = await run_in_threadpool(ask_service.ask_page, state.sessions, state.settings)
        sentence = plan_revisions.error_sentence(error.code, **error.params)
        return await _render_plan(request, page, status=404, import_error=[sentence])
    page = await run_in_threadpool(ask_service.ask_page, state.sessions, state.settings)
    status = 422 if outcome.failure is not None and outcome.answer is None else 200
    return await _render_plan(request, page, status=status, chat=outcome)


def _draft_form(form: FormData) -> plan_drafting.DraftForm:
    return plan_drafting.DraftForm(
        title=_text(form, "title", 120),
        goal_name=_text(form, "goal_name", 120),
        sport=_text(form, "sport", 20),
        event_type=_text(form, "event_type", 40),
        event_date=_text(form, "event_date", 20),
        start=_text(form, "start", 20),
        weeks=_text(form, "weeks", 8),
        weekdays=tuple(v for v in form.getlist("weekdays")[:7] if isinstance(v, str)),
        hours_per_week=_text(form, "hours_per_week", 8),
        long_day=_text(form, "long_day", 8),
        injuries=_text(form, "injuries", 1000),
        notes=_text(form, "notes", 2000),
    )


@router.post("/plan/draft", name="plan:draft")
async def draft_plan(request: Request) -> Response:
    """The questionnaire: the coach drafts the plan in the background, mesocycle by
    mesocycle; the page shows its progress, then the proposed revision."""
    state = request.app.state
    form = _draft_form(await request.form())
    try:
        await run_in_threadpool(
            functools.partial(
                plan_drafting.submit_draft,
                language=i18n.current_locale.get(),
                clock=state.llm_clock,
            ),
            state.work_runner,
            state.sessions,
            state.settings,
            state.secret_box,
            form,
        )
    except plan_drafting.DraftFormInvalid as invalid:
        page = await run_in_threadpool(ask_service.ask_page, state.sessions, state.settings)
        return await _render_plan(request, page, status=422, import_error=invalid.problems[:20])
    return RedirectResponse(f"{request.url_for('plan')}#draft", status_code=303)


@router.get("/plan/draft/status", name="plan:draft_status")
async def draft_status(request: Request) -> Response:
    """How far the draft is (the part of the page that follows it while it runs)."""
    return render(
        request, "plan/_draft_status.html", {"draft": request.app.state.work_runner.last_plan_draft}
    )


@router.post("/plan/import", name="plan:import")
async def import_plan(request: Request) -> Response:
    """A plan file (JSON in the format; ``UPLOAD_PATHS`` lets its size through) as a proposed
    revision: of the followed plan when the owner chose so, else of a new plan."""
    state = request.app.state
    form = await request.form(max_files=1, max_fields=5)
    upload = form.get("file")
    target = _text(form, "plan", 20)
    plan_id = int(target) if target.isdigit() else None
    problems: list[str]
    if upload is None or isinstance(upload, str) or not upload.filename:
        problems = [plan_revisions.missing_file_sentence()]
    else:
        data = await upload.read(plan_revisions.MAX_PLAN_BYTES + 1)
        await upload.close()
        try:
            await run_in_threadpool(
                functools.partial(plans_page.import_upload, plan_id=plan_id), state.sessions, data
            )
        except plan_revisions.PlanInvalid as invalid:
            problems = [
                f"{p['where']}: {p['message']}" if p["where"] else p["message"]
                for p in invalid.problems
            ]
        except plan_revisions.PlanError as error:
            problems = [plan_revisions.error_sentence(error.code, **error.params)]
        else:
            return RedirectResponse(f"{request.url_for('plan')}#proposed", status_code=303)
    page = await run_in_threadpool(ask_service.ask_page, state.sessions, state.settings)
    return await _render_plan(request, page, status=422, import_error=problems[:20])


@router.get("/plan/revisions/{revision_id}/export.{kind}", name="plan:export")
async def export_revision(request: Request, revision_id: int, kind: str) -> Response:
    """The revision as a file: ``json`` (the plan format) or ``md`` (the chat summary)."""
    if kind not in ("json", "md"):
        return Response(status_code=404)
    try:
        text = await run_in_threadpool(
            plans_page.export_text, request.app.state.sessions, revision_id, kind
        )
    except plan_revisions.PlanError:
        return Response(status_code=404)
    media = "application/json" if kind == "json" else "text/markdown; charset=utf-8"
    return Response(
        text,
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="plan-revision-{revision_id}.{kind}"'
        },
    )


@router.get("/library/passages/{chunk_id}", name="coach:passage")
async def passage(request: Request, chunk_id: int) -> Response:
    found = await run_in_threadpool(ask_service.passage, request.app.state.sessions, chunk_id)
    return render(
        request,
        "plan/passage.html",
        {"passage": found},
        status_code=200 if found is not None else 404,
    )


# --- Settings → Coach → Library ---------------------------------------------------------------


def _render_library(
    request: Request, page: library_page.LibraryPage, *, status: int = 200
) -> Response:
    return render(
        request,
        "coach/library.html",
        {"page": page},
        fragment="coach/_library.html",
        status_code=status,
    )


@router.get("/settings/coach/library", name="coach:library")
async def library(request: Request, added: str = "", removed: str = "") -> Response:
    state = request.app.state
    page = await run_in_threadpool(
        functools.partial(library_page.library_page, added=added[:255] or None),
        state.sessions,
        state.settings,
        state.work_runner,
    )
    return _render_library(request, page)


@router.post("/settings/coach/library", name="coach:library_add")
async def library_add(request: Request) -> Response:
    """An owner's Markdown, text or PDF file (one; ``UPLOAD_PATHS`` lets its size through)."""
    state = request.app.state
    form = await request.form(max_files=1, max_fields=5)
    upload = form.get("file")
    error: str | None = None
    if upload is None or isinstance(upload, str) or not upload.filename:
        error = library_page.missing_file_sentence()
    else:
        data = await upload.read(library_page.MAX_FILE_BYTES + 1)
        name = upload.filename
        await upload.close()
        try:
            info = await run_in_threadpool(
                library_page.add,
                state.sessions,
                state.settings,
                state.secret_box,
                state.work_runner,
                name,
                data,
            )
        except library_page.LibraryFileError as refused:
            error = library_page.error_sentence(refused)
        else:
            url = request.url_for("coach:library").include_query_params(added=info.title)
            return RedirectResponse(str(url), status_code=303)
    page = await run_in_threadpool(
        functools.partial(library_page.library_page, error=error),
        state.sessions,
        state.settings,
        state.work_runner,
    )
    return _render_library(request, page, status=422)


@router.post("/settings/coach/library/{document_id}/delete", name="coach:library_remove")
async def library_remove(request: Request, document_id: int) -> Response:
    state = request.app.state
    try:
        await run_in_threadpool(library_page.remove, state.sessions, document_id)
    except library_page.LibraryError as refused:
        page = await run_in_threadpool(
            functools.partial(
                library_page.library_page, error=library_page.error_sentence(refused)
            ),
            state.sessions,
            state.settings,
            state.work_runner,
        )
        return _render_library(request, page, status=404 if refused.code == "not_found" else 409)
    return RedirectResponse(str(request.url_for("coach:library")), status_code=303)


@router.post("/settings/coach/library/reembed", name="coach:library_reembed")
async def library_reembed(request: Request) -> Response:
    state = request.app.state
    await run_in_threadpool(
        library_page.queue_reembed,
        state.sessions,
        state.settings,
        state.secret_box,
        state.work_runner,
    )
    return RedirectResponse(str(request.url_for("coach:library")), status_code=303)


@router.get("/settings/coach/guardrails", name="coach:guardrails")
async def guardrails_page(request: Request, saved: bool = False) -> Response:
    return await _guardrails(request, saved=saved)


async def _guardrails(
    request: Request, *, saved: bool = False, errors: dict[str, str] | None = None
) -> Response:
    sessions = request.app.state.sessions

    def read() -> limits_service.GuardrailSettings:
        with sessions() as session:
            return limits_service.guardrail_settings(session, errors)

    page = await run_in_threadpool(read)
    return render(
        request,
        "coach/guardrails.html",
        {"page": page, "saved": saved},
        fragment="coach/_guardrails.html",
        status_code=422 if errors else 200,
    )


@router.post("/settings/coach/guardrails", name="coach:guardrails_save")
async def guardrails_save(request: Request) -> Response:
    form = await request.form(max_files=0, max_fields=80)
    values = {name: str(value)[:20] for name, value in form.items() if isinstance(value, str)}
    errors = await run_in_threadpool(
        functools.partial(
            limits_service.save, auto_approve=values.get("auto_approve_easier") == "yes"
        ),
        request.app.state.sessions,
        values,
    )
    if errors:
        return await _guardrails(request, errors=errors)
    url = request.url_for("coach:guardrails").include_query_params(saved=1)
    return RedirectResponse(str(url), status_code=303)
