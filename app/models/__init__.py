"""SQLAlchemy 2.0 models. Reusable queries are plain functions next to their models."""

from app.models.activity import (
    Activity,
    ActivityRR,
    ActivitySource,
    Lap,
    RawFile,
    sample_table,
)
from app.models.base import Base
from app.models.coach import (
    CoachConversation,
    CoachDay,
    CoachMessage,
    LibraryChunk,
    LibraryDocument,
    LibraryTerm,
)
from app.models.connection import Connection, StravaUpload, SyncRun
from app.models.imports import ImportItem, ImportJob
from app.models.jobs import ScheduledJobState
from app.models.llm import CoachSettings, LlmCall
from app.models.metrics import ActivityMetrics, AthleteEstimate, AthleteThreshold, DailyMetrics
from app.models.missions import MissionRow, MissionTransitionRow, StageCorrectionRow
from app.models.owner import Owner
from app.models.plans import (
    CalendarFeed,
    GarminPush,
    PlannedWorkout,
    PlanRevision,
    TrainingPlan,
)
from app.models.wellness import DailyWellness, DailyWellnessSource, health_sample_table
from app.models.work import WorkRun

__all__ = [
    "Activity",
    "ActivityMetrics",
    "ActivityRR",
    "ActivitySource",
    "AthleteEstimate",
    "AthleteThreshold",
    "Base",
    "CalendarFeed",
    "CoachConversation",
    "CoachDay",
    "CoachMessage",
    "CoachSettings",
    "Connection",
    "DailyMetrics",
    "DailyWellness",
    "DailyWellnessSource",
    "GarminPush",
    "ImportItem",
    "ImportJob",
    "Lap",
    "LibraryChunk",
    "LibraryDocument",
    "LibraryTerm",
    "LlmCall",
    "MissionRow",
    "MissionTransitionRow",
    "Owner",
    "PlanRevision",
    "PlannedWorkout",
    "RawFile",
    "ScheduledJobState",
    "StageCorrectionRow",
    "StravaUpload",
    "SyncRun",
    "TrainingPlan",
    "WorkRun",
    "health_sample_table",
    "sample_table",
]
