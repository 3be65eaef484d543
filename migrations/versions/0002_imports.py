"""Core data: raw files, activities (laps, sources, R-R), samples and health samples
(hypertables when TimescaleDB is installed), daily wellness, import jobs.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WELLNESS_COLUMNS = (
    "resting_hr",
    "hrv_rmssd_ms",
    "hrv_sdnn_ms",
    "sleep_s",
    "sleep_deep_s",
    "sleep_light_s",
    "sleep_rem_s",
    "sleep_awake_s",
    "sleep_score",
    "stress_avg",
    "body_battery_high",
    "body_battery_low",
    "steps",
    "weight_kg",
    "body_fat_pct",
    "vo2max_running",
    "vo2max_cycling",
    "training_readiness",
    "respiratory_rate",
    "spo2_avg",
    "active_kcal",
)
SUMMARY_COLUMNS = (
    "elapsed_s",
    "moving_s",
    "distance_m",
    "ascent_m",
    "descent_m",
    "calories",
    "avg_hr",
    "max_hr",
    "avg_power",
    "max_power",
    "avg_cadence",
    "avg_speed",
)


def _created() -> sa.Column:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
    )


def _timescale_installed() -> bool:
    bind = op.get_bind()
    return (
        bind.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")).scalar()
        is not None
    )


def _policies_allowed() -> bool:
    bind = op.get_bind()
    value = bind.execute(sa.text("SELECT current_setting('timescaledb.license', true)")).scalar()
    return value == "timescale"


def upgrade() -> None:
    op.create_table(
        "raw_file",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("original_name", sa.Text(), nullable=True),
        _created(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_raw_file")),
        sa.UniqueConstraint("sha256", name=op.f("uq_raw_file_sha256")),
    )

    op.create_table(
        "activity",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("sport", sa.String(40), nullable=False),
        sa.Column("sub_sport", sa.String(40), nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("utc_offset_s", sa.Integer(), nullable=True),
        *(sa.Column(name, sa.Float(), nullable=True) for name in SUMMARY_COLUMNS),
        sa.Column("device", sa.Text(), nullable=True),
        sa.Column("multisport_parent_id", sa.BigInteger(), nullable=True),
        sa.Column("multisport_index", sa.SmallInteger(), nullable=True),
        sa.Column("sample_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("developer_fields", pg.JSONB(), server_default="{}", nullable=False),
        sa.Column("extras", pg.JSONB(), server_default="{}", nullable=False),
        _created(),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity")),
        sa.ForeignKeyConstraint(
            ["multisport_parent_id"],
            ["activity.id"],
            name=op.f("fk_activity_multisport_parent_id_activity"),
            ondelete="SET NULL",
        ),
    )
    op.create_index(op.f("ix_activity_start_time"), "activity", ["start_time"])
    op.create_index(op.f("ix_activity_local_date"), "activity", ["local_date"])

    op.create_table(
        "activity_source",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("activity_id", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        # The source's own id, or "<sha256>:<leg>" for a plain file: re-importing finds it here.
        sa.Column("source_key", sa.Text(), nullable=False),
        sa.Column("external_id", sa.Text(), nullable=True),
        sa.Column("raw_file_id", sa.BigInteger(), nullable=True),
        _created(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity_source")),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activity.id"],
            name=op.f("fk_activity_source_activity_id_activity"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["raw_file_id"],
            ["raw_file.id"],
            name=op.f("fk_activity_source_raw_file_id_raw_file"),
            ondelete="SET NULL",
        ),
        sa.UniqueConstraint("source", "source_key", name=op.f("uq_activity_source_source")),
    )
    op.create_index(op.f("ix_activity_source_activity_id"), "activity_source", ["activity_id"])

    op.create_table(
        "lap",
        sa.Column("activity_id", sa.BigInteger(), nullable=False),
        sa.Column("lap_index", sa.Integer(), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        *(sa.Column(name, sa.Float(), nullable=True) for name in SUMMARY_COLUMNS),
        sa.PrimaryKeyConstraint("activity_id", "lap_index", name=op.f("pk_lap")),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activity.id"],
            name=op.f("fk_lap_activity_id_activity"),
            ondelete="CASCADE",
        ),
    )

    op.create_table(
        "activity_rr",
        sa.Column("activity_id", sa.BigInteger(), nullable=False),
        sa.Column("rr_ms", pg.ARRAY(sa.REAL()), nullable=False),
        sa.PrimaryKeyConstraint("activity_id", name=op.f("pk_activity_rr")),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activity.id"],
            name=op.f("fk_activity_rr_activity_id_activity"),
            ondelete="CASCADE",
        ),
    )

    op.create_table(
        "sample",
        sa.Column("activity_id", sa.BigInteger(), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heart_rate", sa.REAL(), nullable=True),
        sa.Column("power", sa.REAL(), nullable=True),
        sa.Column("cadence", sa.REAL(), nullable=True),
        sa.Column("speed", sa.REAL(), nullable=True),
        sa.Column("distance", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("altitude", sa.REAL(), nullable=True),
        sa.Column("temperature", sa.REAL(), nullable=True),
    )
    op.create_index(op.f("ix_sample_activity_id"), "sample", ["activity_id", "time"])

    op.create_table(
        "health_sample",
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("metric", sa.String(32), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("device", sa.Text(), server_default="", nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index(
        op.f("ix_health_sample_metric"),
        "health_sample",
        ["metric", "source", "device", "time"],
        unique=True,
    )

    op.create_table(
        "daily_wellness",
        sa.Column("day", sa.Date(), nullable=False),
        *(sa.Column(name, sa.Float(), nullable=True) for name in WELLNESS_COLUMNS),
        # {"resting_hr": "garmin_export", "steps": "apple_health", …}: where each value came from.
        sa.Column("sources", pg.JSONB(), server_default="{}", nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_daily_wellness")),
    )

    op.create_table(
        "import_job",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),  # web | cli
        sa.Column("status", sa.String(16), nullable=False),  # queued | running | done | failed
        sa.Column("total", sa.Integer(), server_default="0", nullable=False),
        sa.Column("done", sa.Integer(), server_default="0", nullable=False),
        sa.Column("summary", pg.JSONB(), server_default="{}", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        _created(),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_job")),
    )
    op.create_index(op.f("ix_import_job_status"), "import_job", ["status"])

    op.create_table(
        "import_item",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.BigInteger(), nullable=True),  # the archive it came from
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("raw_file_id", sa.BigInteger(), nullable=True),
        # pending | ok | duplicate | skipped | failed
        sa.Column("status", sa.String(16), server_default="pending", nullable=False),
        sa.Column("activities_added", sa.Integer(), server_default="0", nullable=False),
        sa.Column("activities_duplicate", sa.Integer(), server_default="0", nullable=False),
        sa.Column("wellness_days", sa.Integer(), server_default="0", nullable=False),
        sa.Column("wellness_dates", pg.JSONB(), server_default="[]", nullable=False),
        sa.Column("samples", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("health_samples", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("error_code", sa.String(48), nullable=True),
        sa.Column("error_params", pg.JSONB(), server_default="{}", nullable=False),
        sa.Column("notices", pg.JSONB(), server_default="[]", nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_item")),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["import_job.id"],
            name=op.f("fk_import_item_job_id_import_job"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["raw_file_id"],
            ["raw_file.id"],
            name=op.f("fk_import_item_raw_file_id_raw_file"),
            ondelete="SET NULL",
        ),
        sa.UniqueConstraint("job_id", "position", name=op.f("uq_import_item_job_id")),
    )

    if _timescale_installed():
        # Month chunks: ten years of per-second samples are ~120 chunks, not ~520.
        # No foreign key on sample.activity_id: a per-row check would halve COPY speed;
        # deleting an activity deletes its samples explicitly. No default time index either:
        # every read goes through (activity_id, time).
        op.execute(
            "SELECT create_hypertable('sample', by_range('time', INTERVAL '30 days'), "
            "create_default_indexes => false)"
        )
        op.execute(
            "SELECT create_hypertable('health_sample', by_range('time', INTERVAL '30 days'), "
            "create_default_indexes => false)"
        )
        if _policies_allowed():
            # health_sample's unique index columns must be segment or order columns so that
            # re-imports (INSERT … ON CONFLICT DO NOTHING) still work on compressed chunks.
            for table, segment in (
                ("sample", "activity_id"),
                ("health_sample", "metric, source, device"),
            ):
                op.execute(
                    f"ALTER TABLE {table} SET (timescaledb.compress, "
                    f"timescaledb.compress_segmentby = '{segment}', "
                    "timescaledb.compress_orderby = 'time')"
                )
                op.execute(f"SELECT add_compression_policy('{table}', INTERVAL '60 days')")


def downgrade() -> None:
    for table in (
        "import_item",
        "import_job",
        "daily_wellness",
        "health_sample",
        "sample",
        "activity_rr",
        "lap",
        "activity_source",
        "activity",
        "raw_file",
    ):
        op.drop_table(table)
