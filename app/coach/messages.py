"""The owner's sentences for the coach's codes: guardrail findings and the daily decision's
overrules, plan, mission, draft, change-set and lifecycle errors — in the reader's language
(gettext, ``make i18n``) — and the names of the coach's states, types and modes.

The pure core returns codes with plain parameters (dates as ISO strings, distances in metres);
this module turns them into a sentence when a page, the CLI or an email shows them, with dates,
numbers and distances formatted for the reader's locale and units. Pydantic's own error types
(``missing``, ``extra_forbidden``, …) keep pydantic's English message, placed by location.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from pydantic import BaseModel

from app import i18n
from app.coach.describe import (
    distance_words,
    length_words,
    sport_words,
    step_type_words,
    target_words,
)
from app.coach.workouts import (
    CadenceTarget,
    HrRangeTarget,
    HrZoneTarget,
    NoTarget,
    PaceRangeTarget,
    PowerRangeTarget,
    PowerZoneTarget,
)
from app.i18n import _, format_date, format_distance, format_number

Params = Mapping[str, Any]


def _day(value: Any) -> str:
    if isinstance(value, date):
        return format_date(value)
    try:
        return format_date(date.fromisoformat(str(value)))
    except ValueError:
        return str(value)


def _num(value: Any, digits: int = 1) -> str:
    try:
        return format_number(float(value), digits)
    except (TypeError, ValueError):
        return str(value)


def _dist(value: Any) -> str:
    try:
        return format_distance(float(value))
    except (TypeError, ValueError):
        return str(value)


def _health_rest(p: Params) -> str:
    if p.get("kind") == "injury":
        return _(
            "%(name)s on %(date)s is replaced by rest: you reported an injury from %(start)s. "
            "Training resumes when you say it has healed.",
            name=p["name"],
            date=_day(p["date"]),
            start=_day(p["start"]),
        )
    return _(
        "%(name)s on %(date)s is replaced by rest: you reported an illness from %(start)s. "
        "Training resumes when you say you are well.",
        name=p["name"],
        date=_day(p["date"]),
        start=_day(p["start"]),
    )


def _moved(p: Params) -> str:
    if p.get("reason") == "day_off":
        return _(
            "%(name)s moved from %(date)s to %(to)s: %(date)s is marked as a day off.",
            name=p["name"],
            date=_day(p["date"]),
            to=_day(p["to"]),
        )
    return _(
        "%(name)s moved from %(date)s to %(to)s: that weekday is not one of your training days.",
        name=p["name"],
        date=_day(p["date"]),
        to=_day(p["to"]),
    )


def _readiness_easy(p: Params) -> str:
    if p.get("reason") == "hrv":
        return _(
            "%(name)s on %(date)s becomes an easy session: your 7-day HRV (%(hrv)s) is below "
            "your normal range (from %(low)s).",
            name=p["name"],
            date=_day(p["date"]),
            hrv=_num(p["hrv_7d"], 2),
            low=_num(p["band_low"], 2),
        )
    return _(
        "%(name)s on %(date)s becomes an easy session: today's readiness is %(readiness)s, "
        "under %(minimum)s.",
        name=p["name"],
        date=_day(p["date"]),
        readiness=_num(p["readiness"], 0),
        minimum=_num(p["readiness_min"], 0),
    )


def _spike_shortened(p: Params) -> str:
    if not p.get("longest_m"):
        return _(
            "%(name)s on %(date)s was %(distance)s with no run in the 30 days before; a first "
            "run is kept to %(limit)s, so it is shortened to %(new)s.",
            name=p["name"],
            date=_day(p["date"]),
            distance=_dist(p["distance_m"]),
            limit=_dist(p["limit_m"]),
            new=_dist(p["new_distance_m"]),
        )
    return _(
        "%(name)s on %(date)s was %(distance)s, more than 110%% of your longest run in the 30 "
        "days before (%(longest)s); it is shortened to %(new)s.",
        name=p["name"],
        date=_day(p["date"]),
        distance=_dist(p["distance_m"]),
        longest=_dist(p["longest_m"]),
        new=_dist(p["new_distance_m"]),
    )


# --------------------------------------------------------------------------------------------
# Names of missions' states, types, phases, stages, ride modes, actions and bonuses


def mission_state_name(state: str) -> str:
    names = {
        "prep": _("Preparation"),
        "training": _("Training"),
        "event_active": _("Event under way"),
        "mission_complete": _("Complete"),
        "archived": _("Archived"),
    }
    return names.get(str(state), str(state))


def mission_type_name(kind: str) -> str:
    names = {
        "road_stage_race": _("Road stage race"),
        "gran_fondo": _("Gran fondo"),
        "gravel_ultra": _("Gravel ultra"),
        "marathon": _("Marathon"),
        "triathlon": _("Triathlon"),
        "time_trial_series": _("Time-trial series"),
        "custom": _("Custom event"),
    }
    return names.get(kind, kind)


def phase_name(phase: str) -> str:
    names = {
        "base": _("Base"),
        "build": _("Build"),
        "peak": _("Peak"),
        "taper": _("Taper"),
        "event": _("Event"),
        "after": _("After the event"),
    }
    return names.get(phase, phase)


def stage_type_name(kind: str) -> str:
    names = {
        "flat": _("Flat"),
        "hilly": _("Hilly"),
        "mountain": _("Mountain"),
        "itt": _("Individual time trial"),
        "mountain_itt": _("Mountain time trial"),
        "rest": _("Rest day"),
    }
    return names.get(kind, kind)


def ride_mode_name(mode: str) -> str:
    names = {"rest": _("Rest"), "gc": _("GC"), "breakaway": _("Breakaway")}
    return names.get(mode, mode)


def action_name(action: str) -> str:
    names = {
        "rest": _("Rest"),
        "recover": _("Recover"),
        "ease": _("Ease off"),
        "maintain": _("As planned"),
        "push": _("Push"),
    }
    return names.get(action, action)


def bonus_name(kind: str, count: int | None = None) -> str:
    """A bonus rule as the owner reads it, with its count when it has one."""
    if kind == "stages_in_row":
        if count is None:
            return _("Stages in a row")
        return _("%(count)s stages in a row", count=count)
    if kind == "breakaways":
        if count is None:
            return _("Breakaways")
        return _("%(count)s breakaways", count=count)
    names = {
        "mountains_in_breakaway": _("Every mountain stage in a breakaway"),
        "final_week": _("The final week ridden"),
        "all_stages": _("Every stage ridden"),
    }
    return names.get(kind, kind)


# --------------------------------------------------------------------------------------------
# The daily decision's overrules


def _rest_health(p: Params) -> str:
    if p.get("kind") == "injury":
        return _(
            "Rest today: you reported an injury from %(start)s. Training resumes when you say "
            "it has healed.",
            start=_day(p["start"]),
        )
    return _(
        "Rest today: you reported an illness from %(start)s. Training resumes when you say you "
        "are well.",
        start=_day(p["start"]),
    )


def _rest_tsb(p: Params) -> str:
    if p.get("stage_day"):
        return _(
            "Rest today: form (TSB) is %(tsb)s, under %(minimum)s. Letting today's stage go "
            "protects the rest of the event.",
            tsb=_num(p["tsb"]),
            minimum=_num(p["minimum"]),
        )
    return _(
        "Rest today: form (TSB) is %(tsb)s, under %(minimum)s; fatigue is running ahead of "
        "fitness.",
        tsb=_num(p["tsb"]),
        minimum=_num(p["minimum"]),
    )


def _constraint_readiness(p: Params) -> str:
    if p.get("readiness") is None:
        return _(
            "No hard day today: your mission asks for a readiness of %(minimum)s or more, and "
            "today's readiness is not known.",
            minimum=_num(p["minimum"], 0),
        )
    return _(
        "No hard day today: your mission asks for a readiness of %(minimum)s or more, and "
        "today it is %(readiness)s.",
        minimum=_num(p["minimum"], 0),
        readiness=_num(p["readiness"], 0),
    )


def _no_breakaway(p: Params) -> str:
    if p.get("readiness") is None:
        return _(
            "No breakaway today: it needs a readiness above %(min_readiness)s, and today's "
            "readiness is not known. Ride in GC.",
            min_readiness=_num(p["min_readiness"], 0),
        )
    return _(
        "No breakaway today: it needs a readiness above %(min_readiness)s and form (TSB) above "
        "%(min_tsb)s; today they are %(readiness)s and %(tsb)s. Ride in GC.",
        min_readiness=_num(p["min_readiness"], 0),
        min_tsb=_num(p["min_tsb"]),
        readiness=_num(p["readiness"], 0),
        tsb=_num(p["tsb"]),
    )


def _push_not_ready(p: Params) -> str:
    if p.get("reason") == "hrv":
        return _(
            "No hard day today: your 7-day HRV (%(hrv)s) is below your normal range (from "
            "%(low)s).",
            hrv=_num(p["hrv_7d"], 2),
            low=_num(p["band_low"], 2),
        )
    return _(
        "No hard day today: readiness is %(readiness)s, under %(minimum)s.",
        readiness=_num(p["readiness"], 0),
        minimum=_num(p["readiness_min"], 0),
    )


def _hard_refused(p: Params) -> str:
    inner = {key: value for key, value in p.items() if key != "guardrail"}
    return _(
        "%(name)s becomes an easy session today. %(why)s",
        name=p["name"],
        why=describe_finding(str(p.get("guardrail", "")), inner),
    )


FINDINGS: dict[str, Callable[[Params], str]] = {
    "health_rest": _health_rest,
    "health_race": lambda p: _(
        "%(name)s on %(date)s is a race during the rest you reported from %(start)s. Decide "
        "whether to race; the plan waits for you.",
        name=p["name"],
        date=_day(p["date"]),
        start=_day(p["start"]),
    ),
    "health_race_not_cleared": lambda p: _(
        "%(name)s on %(date)s is a race, and the illness or injury from %(start)s is not "
        "cleared yet. Race only if you feel fully well.",
        name=p["name"],
        date=_day(p["date"]),
        start=_day(p["start"]),
    ),
    "health_restart_easy": lambda p: _(
        "%(name)s on %(date)s becomes an easy session: after an illness or injury, hard "
        "sessions wait until you say you are fully well.",
        name=p["name"],
        date=_day(p["date"]),
    ),
    "moved_unavailable": _moved,
    "unavailable_day": lambda p: _(
        "%(name)s on %(date)s falls on a day you are not available, and no free day in the "
        "same week keeps hard days apart. Move it or drop it.",
        name=p["name"],
        date=_day(p["date"]),
    ),
    "unavailable_race": lambda p: _(
        "%(name)s on %(date)s is a race on a day you marked as unavailable. Check the date or "
        "your availability.",
        name=p["name"],
        date=_day(p["date"]),
    ),
    "week_over_hours": lambda p: _(
        "The week of %(week)s plans %(hours)s hours; you have %(limit)s. Trim a session or "
        "raise your weekly hours.",
        week=_day(p["week_start"]),
        hours=_num(p["hours"]),
        limit=_num(p["limit_hours"]),
    ),
    "readiness_easy": _readiness_easy,
    "readiness_race": lambda p: _(
        "%(name)s on %(date)s is a race and your recovery signals are low today. Race by feel "
        "and start conservatively.",
        name=p["name"],
        date=_day(p["date"]),
    ),
    "taper_added": lambda p: _(
        "The %(days)s days before %(event)s cut the load by only %(cut)s%% against the four "
        "weeks before; their sessions are shortened into a progressive taper, intensity kept.",
        days=p["days"],
        event=_day(p["event_date"]),
        cut=p["cut_pct"],
    ),
    "taper_missing": lambda p: _(
        "The %(days)s days before %(event)s cut the load by %(cut)s%% against the four weeks "
        "before, and their sessions cannot be shortened enough. A taper of %(min)s%% or more "
        "helps on race day.",
        days=p["days"],
        event=_day(p["event_date"]),
        cut=p["cut_pct"],
        min=p["min_pct"],
    ),
    "taper_too_deep": lambda p: _(
        "The %(days)s days before %(event)s cut the load by %(cut)s%%; beyond %(max)s%% "
        "fitness starts to fade. Keep a few short sessions at race pace.",
        days=p["days"],
        event=_day(p["event_date"]),
        cut=p["cut_pct"],
        max=p["max_pct"],
    ),
    "taper_intensity_dropped": lambda p: _(
        "No hard session is left in the %(days)s days before %(event)s. Keep a little "
        "race-pace work: a taper cuts volume, not intensity.",
        days=p["days"],
        event=_day(p["event_date"]),
    ),
    "event_after_plan": lambda p: _(
        "The event on %(event)s is after the plan's last day (%(last)s), so the plan has no "
        "taper for it.",
        event=_day(p["event_date"]),
        last=_day(p["last_day"]),
    ),
    "recovery_week_inserted": lambda p: _(
        "The week of %(week)s would be loading week %(count)s in a row; it becomes a recovery "
        "week with a load of %(new)s instead of %(load)s.",
        week=_day(p["week_start"]),
        count=p["weeks_in_row"],
        new=_num(p["new_load"], 0),
        load=_num(p["load"], 0),
    ),
    "recovery_week_deepened": lambda p: _(
        "The recovery week of %(week)s was not lighter than the weeks before (load %(load)s "
        "against %(reference)s); its sessions are shortened to a load of %(new)s.",
        week=_day(p["week_start"]),
        load=_num(p["load"], 0),
        reference=_num(p["reference"], 0),
        new=_num(p["new_load"], 0),
    ),
    "recovery_week_missing": lambda p: _(
        "The week of %(week)s is loading week %(count)s in a row. A lighter week every three "
        "to four weeks lets the training sink in.",
        week=_day(p["week_start"]),
        count=p["weeks_in_row"],
    ),
    "spike_shortened": _spike_shortened,
    "spike_race": lambda p: _(
        "%(name)s on %(date)s (%(distance)s) is longer than 110%% of your longest run in the "
        "30 days before (%(longest)s). Races count too: build the long run towards it where "
        "you can.",
        name=p["name"],
        date=_day(p["date"]),
        distance=_dist(p["distance_m"]),
        longest=_dist(p["longest_m"]),
    ),
    "spike_cannot_shorten": lambda p: _(
        "%(name)s on %(date)s is %(distance)s, over the %(limit)s your recent runs allow, and "
        "its lap-button or open steps keep it that long. Shorten it.",
        name=p["name"],
        date=_day(p["date"]),
        distance=_dist(p["distance_m"]),
        limit=_dist(p["limit_m"]),
    ),
    "easy_after_key": lambda p: _(
        "%(name)s on %(date)s becomes an easy session: it comes right after the key session "
        "of %(key)s.",
        name=p["name"],
        date=_day(p["date"]),
        key=_day(p["key_date"]),
    ),
    "hard_after_key": lambda p: _(
        "%(date)s holds a key or hard session right after the key session of %(key)s. Put an "
        "easy day between them, or confirm both.",
        date=_day(p["date"]),
        key=_day(p["key_date"]),
    ),
    "hard_day_softened": lambda p: _(
        "%(name)s on %(date)s becomes an easy session: it would make %(count)s hard days in a row.",
        name=p["name"],
        date=_day(p["date"]),
        count=p["days_in_row"],
    ),
    "hard_days_in_row": lambda p: _(
        "%(count)s hard days in a row from %(start)s, with key sessions that cannot change. "
        "Make one of them easy.",
        count=p["days"],
        start=_day(p["start"]),
    ),
    "ramp_scaled": lambda p: _(
        "Week of %(week)s: fitness (CTL) would rise by %(ramp)s, more than the %(limit)s a "
        "week allows from a fitness of %(ctl)s; its other sessions are shortened to %(pct)s%%.",
        week=_day(p["week_start"]),
        ramp=_num(p["ramp"]),
        limit=_num(p["limit"]),
        ctl=_num(p["ctl"], 0),
        pct=p["factor_pct"],
    ),
    "ramp_too_steep": lambda p: _(
        "Week of %(week)s: fitness (CTL) would rise by %(ramp)s, more than the %(limit)s a "
        "week allows from a fitness of %(ctl)s, and halving its other sessions is not enough. "
        "Make the week lighter.",
        week=_day(p["week_start"]),
        ramp=_num(p["ramp"]),
        limit=_num(p["limit"]),
        ctl=_num(p["ctl"], 0),
    ),
    "intensity_too_hard": lambda p: _(
        "%(easy)s%% of the planned time is easy (%(sessions)s%% of the sessions); about "
        "%(target)s%% usually works best. A harder mix is your call.",
        easy=p["easy_pct"],
        sessions=p["easy_sessions_pct"],
        target=p["target_pct"],
    ),
    "guardrails_unstable": lambda p: _(
        "The checks were still changing the plan after %(passes)s rounds; review it by hand.",
        passes=p["passes"],
    ),
    # The daily decision (app.coach.decision)
    "decision_rest_health": _rest_health,
    "decision_rest_readiness": lambda p: _(
        "Rest today: readiness is %(readiness)s, under %(minimum)s.",
        readiness=_num(p["readiness"], 0),
        minimum=_num(p["minimum"], 0),
    ),
    "decision_rest_tsb": _rest_tsb,
    "decision_not_cleared": lambda p: _(
        "No breakaway today: you have not said yet that you are fully well after the illness "
        "or injury from %(start)s.",
        start=_day(p["start"]),
    ),
    "constraint_readiness": _constraint_readiness,
    "constraint_tsb": lambda p: _(
        "No hard day today: your mission asks for form (TSB) of %(minimum)s or more, and today "
        "it is %(tsb)s.",
        minimum=_num(p["minimum"]),
        tsb=_num(p["tsb"]),
    ),
    "constraint_hard_days": lambda p: _(
        "No hard day today: %(count)s of the last six days were hard, and your mission allows "
        "%(maximum)s in seven days.",
        count=p["count"],
        maximum=p["maximum"],
    ),
    "decision_no_breakaway": _no_breakaway,
    "decision_push_not_ready": _push_not_ready,
    "decision_hard_refused": _hard_refused,
}

ERRORS: dict[str, Callable[[Params], str]] = {
    # Workout structure (app.coach.workouts)
    "hr_range_order": lambda p: _(
        "The heart-rate range starts above its end (%(low)s to %(high)s bpm).",
        low=p.get("low", "?"),
        high=p.get("high", "?"),
    ),
    "pace_range_order": lambda p: _(
        "The pace range is the wrong way round: the fast pace %(fast)s is slower than the "
        "slow pace %(slow)s.",
        fast=p.get("fast", "?"),
        slow=p.get("slow", "?"),
    ),
    "power_range_order": lambda p: _(
        "The power range starts above its end (%(low)s to %(high)s W).",
        low=p.get("low", "?"),
        high=p.get("high", "?"),
    ),
    "cadence_range_order": lambda p: _(
        "The cadence range starts above its end (%(low)s to %(high)s).",
        low=p.get("low", "?"),
        high=p.get("high", "?"),
    ),
    "structure_too_long": lambda p: _(
        "The workout has %(steps)s steps once its repeats are written out; 1,000 is the most.",
        steps=p.get("steps", "?"),
    ),
    "target_not_for_sport": lambda p: _(
        "Step %(step)s: this target is not available for this sport (power is for rides, pace "
        "for runs and swims).",
        step=p.get("step", "?"),
    ),
    "swim_step_by_time": lambda p: _(
        "Step %(step)s: swim steps end by distance, the lap button or nothing; only rest steps "
        "last a time.",
        step=p.get("step", "?"),
    ),
    "distance_not_for_sport": lambda p: _(
        "Step %(step)s: strength and other sessions go by time, not distance.",
        step=p.get("step", "?"),
    ),
    "pace_out_of_range": lambda p: _(
        "Step %(step)s: the pace must lie between %(fastest)s and %(slowest)s.",
        step=p.get("step", "?"),
        fastest=p.get("fastest", "?"),
        slowest=p.get("slowest", "?"),
    ),
    "cadence_out_of_range": lambda p: _(
        "Step %(step)s: the cadence must lie between %(low)s and %(high)s.",
        step=p.get("step", "?"),
        low=p.get("low", "?"),
        high=p.get("high", "?"),
    ),
    # Plan (app.coach.plans)
    "weekday_repeated": lambda p: _("A weekday is listed twice among the training days."),
    "long_day_unavailable": lambda p: _("The long-session day is not one of the training days."),
    "day_off_repeated": lambda p: _("A date is listed twice among the days off."),
    "health_end_before_start": lambda p: _(
        "An illness or injury ends (%(end)s) before it starts (%(start)s).",
        end=_day(p.get("end", "?")),
        start=_day(p.get("start", "?")),
    ),
    "health_cleared_before_start": lambda p: _(
        "An illness or injury is cleared (%(cleared)s) before it starts (%(start)s).",
        cleared=_day(p.get("cleared", "?")),
        start=_day(p.get("start", "?")),
    ),
    "weeks_not_consecutive": lambda p: _(
        "The week starting %(start)s should start on %(expected)s, seven days after the one "
        "before.",
        start=_day(p.get("start", "?")),
        expected=_day(p.get("expected", "?")),
    ),
    "workout_id_repeated": lambda p: _("The workout id %(id)s is used twice.", id=p.get("id", "?")),
    "workout_outside_plan": lambda p: _(
        "The workout %(id)s on %(date)s lies outside the plan (%(first)s to %(last)s).",
        id=p.get("id", "?"),
        date=_day(p.get("date", "?")),
        first=_day(p.get("first", "?")),
        last=_day(p.get("last", "?")),
    ),
    "health_id_repeated": lambda p: _("An illness or injury id is used twice."),
    # Drafts and change sets (app.coach.llm_schema, app.coach.changes)
    "no_steps": lambda p: _("A workout or block has no steps."),
    "no_weeks": lambda p: _("The plan has no weeks."),
    "repeat_out_of_range": lambda p: _(
        "A block repeats %(repeat)s times; 1 (once) to 99 is allowed.",
        repeat=p.get("repeat", "?"),
    ),
    "date_invalid": lambda p: _("“%(text)s” is not a date (YYYY-MM-DD).", text=p.get("text", "?")),
    "date_outside_plan": lambda p: _(
        "%(date)s lies outside the plan (%(first)s to %(last)s).",
        date=_day(p.get("date", "?")),
        first=_day(p.get("first", "?")),
        last=_day(p.get("last", "?")),
    ),
    "date_in_past": lambda p: _("%(date)s has already passed.", date=_day(p.get("date", "?"))),
    "unknown_workout": lambda p: _(
        "There is no workout %(id)s in the plan.", id=p.get("workout_id", "?")
    ),
    "workout_in_past": lambda p: _(
        "The workout %(id)s on %(date)s has already passed.",
        id=p.get("workout_id", "?"),
        date=_day(p.get("date", "?")),
    ),
    "structure_invalid": lambda p: _(
        "The new steps are not valid: %(details)s", details=p.get("details", "")
    ),
    "workout_invalid": lambda p: _(
        "The workout is not valid: %(details)s", details=p.get("details", "")
    ),
    "event_invalid": lambda p: _("The event is not valid (its distance or duration)."),
    "nothing_to_change": lambda p: _("The change leaves everything as it was."),
    "end_before_start": lambda p: _(
        "The end (%(end)s) is before the start (%(start)s).",
        end=_day(p.get("end", "?")),
        start=_day(p.get("start", "?")),
    ),
    "unknown_health_report": lambda p: _(
        "There is no open illness or injury %(id)s.", id=p.get("report_id", "?")
    ),
    "nothing_to_clear": lambda p: _("No illness or injury is open."),
    "cleared_before_start": lambda p: _(
        "%(date)s is before the illness or injury started (%(start)s).",
        date=_day(p.get("date", "?")),
        start=_day(p.get("start", "?")),
    ),
    "unknown_week": lambda p: _(
        "No week of the plan starts on %(date)s.", date=_day(p.get("week_start", "?"))
    ),
    # Missions and their stage plans (app.coach.missions, app.coach.points)
    "time_zone_unknown": lambda p: _(
        "“%(zone)s” is not a time zone (for example Asia/Seoul).", zone=p.get("zone", "?")
    ),
    "prep_after_event": lambda p: _(
        "The preparation starts (%(prep)s) after the event (%(start)s).",
        prep=_day(p.get("prep", "?")),
        start=_day(p.get("start", "?")),
    ),
    "prep_too_long": lambda p: _(
        "The preparation lasts %(days)s days; %(max)s is the most.",
        days=p.get("days", "?"),
        max=p.get("max", "?"),
    ),
    "event_end_before_start": lambda p: _(
        "The event ends (%(end)s) before it starts (%(start)s).",
        end=_day(p.get("end", "?")),
        start=_day(p.get("start", "?")),
    ),
    "event_too_long": lambda p: _(
        "The event lasts %(days)s days; %(max)s is the most.",
        days=p.get("days", "?"),
        max=p.get("max", "?"),
    ),
    "stage_outside_event": lambda p: _(
        "The stage on %(date)s lies outside the event (%(start)s to %(end)s).",
        date=_day(p.get("date", "?")),
        start=_day(p.get("start", "?")),
        end=_day(p.get("end", "?")),
    ),
    "stage_date_repeated": lambda p: _(
        "Two stages fall on %(date)s; a day has one stage at most.", date=_day(p.get("date", "?"))
    ),
    "stage_number_order": lambda p: _(
        "The stage on %(date)s is number %(number)s; in date order it is number %(expected)s.",
        date=_day(p.get("date", "?")),
        number=p.get("number", "?"),
        expected=p.get("expected", "?"),
    ),
    "rest_day_numbered": lambda p: _(
        "The rest day on %(date)s has a stage number; rest days have none.",
        date=_day(p.get("date", "?")),
    ),
    "stage_number_missing": lambda p: _(
        "The stage on %(date)s has no number.", date=_day(p.get("date", "?"))
    ),
    "phase_end_before_start": lambda p: _(
        "A phase ends (%(end)s) before it starts (%(start)s).",
        end=_day(p.get("end", "?")),
        start=_day(p.get("start", "?")),
    ),
    "phases_start": lambda p: _(
        "The first phase starts on the first day of the preparation (%(expected)s).",
        expected=_day(p.get("expected", "?")),
    ),
    "phases_order": lambda p: _(
        "The phases go base, build, peak and taper, each once and in this order."
    ),
    "phases_not_consecutive": lambda p: _(
        "A phase starts on %(start)s; it starts on %(expected)s, the day after the phase "
        "before ends.",
        start=_day(p.get("start", "?")),
        expected=_day(p.get("expected", "?")),
    ),
    "phases_end": lambda p: _(
        "The last phase ends on %(expected)s, the day before the event.",
        expected=_day(p.get("expected", "?")),
    ),
    "thresholds_order": lambda p: _(
        "A breakaway needs at least the intensity factor and load of a GC ride."
    ),
    "correction_empty": lambda p: _(
        "The correction of stage %(stage)s changes neither the activity nor the mode.",
        stage=p.get("stage", "?"),
    ),
    "correction_unknown_stage": lambda p: _(
        "There is no stage %(stage)s.", stage=p.get("stage", "?")
    ),
    "correction_repeated": lambda p: _(
        "Stage %(stage)s is corrected twice.", stage=p.get("stage", "?")
    ),
    "correction_unknown_activity": lambda p: _(
        "The activity chosen for stage %(stage)s cannot be found.", stage=p.get("stage", "?")
    ),
    "correction_activity_repeated": lambda p: _(
        "One activity is chosen for both stage %(other)s and stage %(stage)s.",
        other=p.get("other_stage", "?"),
        stage=p.get("stage", "?"),
    ),
    # The lifecycle (app.coach.missions.transition)
    "transition_same_state": lambda p: _("The mission is already in this state."),
    "mission_archived": lambda p: _("An archived mission does not change any more."),
    "transition_automatic": lambda p: _(
        "This happens by itself: the event starts at midnight of its first day and the mission "
        "completes at midnight after its last."
    ),
    "transition_not_allowed": lambda p: _(
        "A mission cannot go from %(source)s to %(target)s.",
        source=mission_state_name(p.get("source", "?")),
        target=mission_state_name(p.get("target", "?")),
    ),
    "another_mission_active": lambda p: _(
        "Another mission is under way, and one runs at a time. Complete it or take it back to "
        "preparation first."
    ),
    "event_already_over": lambda p: _(
        "The event ended on %(end)s; a mission cannot start after its event.",
        end=_day(p.get("event_end", "?")),
    ),
    "event_started": lambda p: _(
        "The event started on %(start)s; the mission cannot go back to preparation.",
        start=_day(p.get("event_start", "?")),
    ),
    # The daily decision from the model (app.coach.decision)
    "workout_not_today": lambda p: _(
        "The workout is dated %(date)s, not today (%(today)s).",
        date=_day(p.get("date", "?")),
        today=_day(p.get("today", "?")),
    ),
    "reason_missing": lambda p: _("The decision gives no reason."),
    "confidence_out_of_range": lambda p: _(
        "The confidence %(confidence)s is not between 0 and 1.",
        confidence=p.get("confidence", "?"),
    ),
    "rest_with_workout": lambda p: _("A rest day has no workout."),
    "rest_with_ride_mode": lambda p: _("A rest day is not ridden in GC or in a breakaway."),
    "ride_mode_missing": lambda p: _(
        "Today is stage %(stage)s: the decision needs a ride mode.", stage=p.get("stage", "?")
    ),
    "ride_mode_not_stage_day": lambda p: _("Today has no stage, so the decision has no ride mode."),
    # The mission builder and the wrap-up (app.coach.mission_draft)
    "hours_order": lambda p: _(
        "The fewest weekly hours (%(low)s) are more than the most (%(high)s).",
        low=p.get("low", "?"),
        high=p.get("high", "?"),
    ),
    "event_in_past": lambda p: _(
        "The event starts on %(date)s; it has to be after today.", date=_day(p.get("date", "?"))
    ),
    "event_date_changed": lambda p: _(
        "The draft moved the event to %(date)s; your date is %(expected)s.",
        date=_day(p.get("date", "?")),
        expected=_day(p.get("expected", "?")),
    ),
    "stage_points_repeated": lambda p: _(
        "%(type)s stages have points twice.",
        type=stage_type_name(p.get("stage_type", "?")),
    ),
    "stage_points_missing": lambda p: _(
        "%(type)s stages have no points.", type=stage_type_name(p.get("stage_type", "?"))
    ),
    "bonus_count_missing": lambda p: _(
        "The bonus “%(bonus)s” needs a count.", bonus=bonus_name(p.get("bonus", "?"))
    ),
    "text_missing": lambda p: _("The text is empty."),
    "wrap_up_empty": lambda p: _("The wrap-up has nothing under this heading."),
    "text_too_long": lambda p: _(
        "A point is %(length)s characters long; 500 is the most.", length=p.get("length", "?")
    ),
}


_TARGET_CLASSES: dict[str, type[BaseModel]] = {
    "none": NoTarget,
    "hr_zone": HrZoneTarget,
    "hr_range": HrRangeTarget,
    "pace_range": PaceRangeTarget,
    "power_zone": PowerZoneTarget,
    "power_range": PowerRangeTarget,
    "cadence": CadenceTarget,
}


def _target(value: Any, sport: str) -> str:
    """A target as :func:`app.coach.garmin_workout.decode_target` gives it, in words — also
    one the plan would refuse, such as the 864 km/h "pace" of watts read as metres per second."""
    if not isinstance(value, Mapping):
        return str(value)
    kind = value.get("kind")
    if kind == "speed":
        low, high = value.get("low_kmh", 0.0), value.get("high_kmh", 0.0)
        if i18n.current_units.get() == "imperial":
            factor = 1000 / i18n.METERS_PER_MILE
            return f"{_num(low * factor)}–{_num(high * factor)} mph"
        return f"{_num(low)}–{_num(high)} km/h"
    if kind == "unknown":
        if value.get("missing"):
            return _("a target without values")
        return _("a target Domestique does not know (type %(type)s)", type=value.get("type_id"))
    model = _TARGET_CLASSES.get(str(kind))
    if model is None:
        return str(value)
    try:
        return target_words(model.model_construct(**value), sport)  # type: ignore[arg-type]
    except (AttributeError, TypeError, ValueError):
        return str(value)


def _duration(value: Any, sport: str) -> str:
    if not isinstance(value, Mapping):
        return str(value)
    kind, amount = value.get("kind"), value.get("value")
    if kind == "time" and isinstance(amount, int | float):
        return length_words(amount)
    if kind == "distance" and isinstance(amount, int | float):
        return distance_words(amount, sport)
    if kind == "lap_button":
        return _("until you press lap")
    return _("an unknown length")


def _step_type(value: Any) -> str:
    return step_type_words(str(value))


def _sport(value: Any) -> str:
    return sport_words(str(value))


DIFFERENCES: dict[str, Callable[[Params], str]] = {
    "sport_changed": lambda p: _(
        "Garmin changed the sport: %(sent)s became %(fetched)s.",
        sent=_sport(p.get("sent")),
        fetched=_sport(p.get("fetched")),
    ),
    "pool_length_changed": lambda p: _(
        "Garmin changed the pool length: %(sent)s became %(fetched)s.",
        sent=f"{_num(p.get('sent'), 0)} m",
        fetched=f"{_num(p.get('fetched'), 0)} m",
    ),
    "step_missing": lambda p: _("Step %(step)s is missing on Garmin.", step=p.get("step", "?")),
    "step_added": lambda p: _(
        "Garmin has a step %(step)s that Domestique did not send.", step=p.get("step", "?")
    ),
    "structure_changed": lambda p: _(
        "Step %(step)s moved into or out of a repeat on Garmin.", step=p.get("step", "?")
    ),
    "repeat_changed": lambda p: _(
        "Step %(step)s repeats %(fetched)s times on Garmin instead of %(sent)s.",
        step=p.get("step", "?"),
        sent=p.get("sent", "?"),
        fetched=p.get("fetched", "?"),
    ),
    "step_type_changed": lambda p: _(
        "Step %(step)s changed type on Garmin: %(sent)s became %(fetched)s.",
        step=p.get("step", "?"),
        sent=_step_type(p.get("sent")),
        fetched=_step_type(p.get("fetched")),
    ),
    "duration_changed": lambda p: _(
        "Step %(step)s changed length on Garmin: %(sent)s became %(fetched)s.",
        step=p.get("step", "?"),
        sent=_duration(p.get("sent"), p.get("sport", "")),
        fetched=_duration(p.get("fetched"), p.get("sport", "")),
    ),
    "target_changed": lambda p: _(
        "Step %(step)s changed target on Garmin: %(sent)s became %(fetched)s.",
        step=p.get("step", "?"),
        sent=_target(p.get("sent"), p.get("sport", "")),
        fetched=_target(p.get("fetched"), p.get("sport", "")),
    ),
    "target_dropped": lambda p: _(
        "Garmin dropped the target of step %(step)s (%(sent)s).",
        step=p.get("step", "?"),
        sent=_target(p.get("sent"), p.get("sport", "")),
    ),
    "target_values_dropped": lambda p: _(
        "Garmin kept the kind of target of step %(step)s but dropped its values (%(sent)s).",
        step=p.get("step", "?"),
        sent=_target(p.get("sent"), p.get("sport", "")),
    ),
    "target_order_changed": lambda p: _(
        "Garmin swapped the bounds of the target of step %(step)s (%(sent)s); the watch may "
        "show it as 0:00.",
        step=p.get("step", "?"),
        sent=_target(p.get("sent"), p.get("sport", "")),
    ),
}


def describe_difference(code: str, params: Params | None = None) -> str:
    """The owner's sentence for a difference between a workout sent to Garmin and what Garmin
    stored (:func:`app.coach.garmin_workout.compare`)."""
    render = DIFFERENCES.get(code)
    if render is None:
        return _("Garmin stored the workout differently (%(code)s).", code=code)
    return render(params or {})


ADAPTATIONS: dict[str, Callable[[Params], str]] = {
    "missed_key_moved": lambda p: (
        _(
            "%(name)s was missed on %(missed_on)s; it moves to %(moved_to)s in place of "
            "%(replaces)s.",
            name=p["name"],
            missed_on=_day(p["missed_on"]),
            moved_to=_day(p["moved_to"]),
            replaces=", ".join(p["replaces"]),
        )
        if p.get("replaces")
        else _(
            "%(name)s was missed on %(missed_on)s; it moves to %(moved_to)s.",
            name=p["name"],
            missed_on=_day(p["missed_on"]),
            moved_to=_day(p["moved_to"]),
        )
    ),
    "missed_key_let_go": lambda p: _(
        "%(name)s was missed on %(day)s and is let go: no free day before the next key "
        "session, and making up for it now would crowd the week.",
        name=p["name"],
        day=_day(p["day"]),
    ),
}


def describe_adaptation(code: str, params: Params | None = None) -> str:
    """The owner's sentence for why the planner proposes to adapt the plan
    (:mod:`app.coach.adaptation`)."""
    render = ADAPTATIONS.get(code)
    if render is None:
        return _("The plan was adapted (%(code)s).", code=code)
    return render(params or {})


def describe_finding(code: str, params: Params | None = None) -> str:
    """The owner's sentence for a guardrail finding."""
    render = FINDINGS.get(code)
    if render is None:
        return _("The plan check found something it cannot describe (%(code)s).", code=code)
    return render(params or {})


def describe_error(code: str, params: Params | None = None, fallback: str = "") -> str:
    """The owner's sentence for a validation, draft or change-set error code; pydantic's own
    codes give ``fallback`` (pydantic's English message)."""
    render = ERRORS.get(code)
    if render is None:
        return fallback or _("The plan is not valid (%(code)s).", code=code)
    return render(params or {})


def finding_codes() -> set[str]:
    return set(FINDINGS)


def error_codes() -> set[str]:
    return set(ERRORS)


def difference_codes() -> set[str]:
    return set(DIFFERENCES)
