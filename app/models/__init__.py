"""SQLAlchemy 2.0 models. Reusable queries are plain functions next to their models."""

from app.models.base import Base
from app.models.jobs import ScheduledJobState
from app.models.owner import Owner

__all__ = ["Base", "Owner", "ScheduledJobState"]
