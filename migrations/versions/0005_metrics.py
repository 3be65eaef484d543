"""Training metrics: thresholds by date, per-activity metrics, the daily series, athlete
estimates; the owner's sex, birth year and HR-zone model.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVITY_FLOATS = (
    "load",
    "avg_power_w",
    "normalized_power_w",
    "intensity_factor",
    "tss",
    "variability_index",
    "work_kj",
    "max_hr_bpm",
    "trimp",
    "hrss",
)
RUNNING_FLOATS = ("ngp_s_per_km", "gap_avg_s_per_km", "rtss", "effective_vo2max")
EFFICIENCY_FLOATS = ("efficiency_factor", "decoupling_pct")
SUMMARY_FLOATS = ("moving_s", "ascent_m", "descent_m")


def _now(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


def upgrade() -> None:
    op.add_column("owner", sa.Column("sex", sa.String(8), nullable=True))
    op.add_column("owner", sa.Column("birth_year", sa.SmallInteger(), nullable=True))
    op.add_column("owner", sa.Column("hr_zone_model", sa.String(8), nullable=True))

    op.create_table(
        "athlete_threshold",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("source", sa.String(16), server_default="owner", nullable=False),
        _now("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_athlete_threshold")),
        sa.UniqueConstraint("kind", "valid_from", "source", name=op.f("uq_athlete_threshold_kind")),
        sa.CheckConstraint(
            "source IN ('owner', 'estimated')", name=op.f("ck_athlete_threshold_source")
        ),
    )

    op.create_table(
        "activity_metrics",
        sa.Column("activity_id", sa.BigInteger(), nullable=False),
        sa.Column("load_model", sa.String(8), nullable=True),
        *(sa.Column(name, sa.Float(), nullable=True) for name in ACTIVITY_FLOATS),
        sa.Column("hr_zone_s", pg.ARRAY(sa.REAL()), nullable=True),
        *(sa.Column(name, sa.Float(), nullable=True) for name in RUNNING_FLOATS),
        *(sa.Column(name, sa.Float(), nullable=True) for name in EFFICIENCY_FLOATS),
        sa.Column("steady", sa.Boolean(), nullable=True),
        sa.Column("decoupled", sa.Boolean(), nullable=True),
        *(sa.Column(name, sa.Float(), nullable=True) for name in SUMMARY_FLOATS),
        sa.Column("power_curve_w", pg.ARRAY(sa.REAL()), nullable=True),
        sa.Column("hr_curve_bpm", pg.ARRAY(sa.REAL()), nullable=True),
        sa.Column("pace_bests", pg.JSONB(), server_default="{}", nullable=False),
        sa.Column("thresholds_used", pg.JSONB(), server_default="{}", nullable=False),
        sa.Column("algorithm_version", sa.SmallInteger(), nullable=False),
        _now("computed_at"),
        sa.PrimaryKeyConstraint("activity_id", name=op.f("pk_activity_metrics")),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activity.id"],
            name=op.f("fk_activity_metrics_activity_id_activity"),
            ondelete="CASCADE",
        ),
    )

    op.create_table(
        "daily_metrics",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("load", sa.Float(), nullable=False),
        sa.Column("activities", sa.SmallInteger(), server_default="0", nullable=False),
        *(
            sa.Column(name, sa.Float(), nullable=False)
            for name in ("ctl", "atl", "tsb", "tsb_today", "ramp")
        ),
        *(
            sa.Column(name, sa.Float(), nullable=True)
            for name in ("acwr_ewma", "acwr_rolling", "monotony", "strain")
        ),
        _now("computed_at"),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_daily_metrics")),
    )

    op.create_table(
        "athlete_estimate",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("inputs", pg.JSONB(), server_default="{}", nullable=False),
        _now("computed_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_athlete_estimate")),
        sa.UniqueConstraint("kind", "day", name=op.f("uq_athlete_estimate_kind")),
    )


def downgrade() -> None:
    for table in ("athlete_estimate", "daily_metrics", "activity_metrics", "athlete_threshold"):
        op.drop_table(table)
    for column in ("hr_zone_model", "birth_year", "sex"):
        op.drop_column("owner", column)
