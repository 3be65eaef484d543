"""Each activity's best efforts as two arrays generated from ``pace_bests`` (times and VDOTs in
the order of the best-effort distances): the coach's context snapshot takes every period's best
of each distance from them in one pass, where expanding the JSON of ten years of runs took a
quarter of its time.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EFFORTS = ("400m", "1k", "1mile", "5k", "10k", "half_marathon", "marathon")


def _array(field: str) -> str:
    items = ", ".join(
        f"CAST(pace_bests -> '{name}' ->> '{field}' AS double precision)" for name in EFFORTS
    )
    return f"CASE WHEN pace_bests = '{{}}'::jsonb THEN NULL ELSE ARRAY[{items}] END"


def upgrade() -> None:
    for name, field in (("pace_best_times_s", "time_s"), ("pace_best_vdots", "vdot")):
        op.add_column(
            "activity_metrics",
            sa.Column(name, sa.ARRAY(sa.Float()), sa.Computed(_array(field), persisted=True)),
        )


def downgrade() -> None:
    op.drop_column("activity_metrics", "pace_best_vdots")
    op.drop_column("activity_metrics", "pace_best_times_s")
