"""Every source's daily wellness values (``daily_wellness_source``), seeded from the values kept
so far, and the owner's choice of source per metric group (``owner.wellness_preference``).

``daily_wellness`` stays the resolved view the pages read; ``app.services.wellness.origins``
rebuilds it from ``daily_wellness_source``.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each kept value under the source ``sources`` names for it; a value without a named source
# stays in daily_wellness only (resolving keeps values no source row supplies).
SEED = """
INSERT INTO daily_wellness_source (day, source, "values", extras, updated_at)
SELECT w.day, s.value, jsonb_object_agg(s.key, to_jsonb(w) -> s.key), '{}'::jsonb, w.updated_at
FROM daily_wellness w
CROSS JOIN LATERAL jsonb_each_text(w.sources) AS s(key, value)
WHERE jsonb_typeof(to_jsonb(w) -> s.key) = 'number'
GROUP BY w.day, s.value, w.updated_at
"""


def upgrade() -> None:
    op.create_table(
        "daily_wellness_source",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        # {"sleep_s": 26100.0, …}: keys from WELLNESS_FIELDS.
        sa.Column("values", pg.JSONB(), nullable=False),
        # What the source sent beyond WELLNESS_FIELDS (Oura's contributors, stress seconds, …).
        sa.Column("extras", pg.JSONB(), server_default="{}", nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("day", "source", name=op.f("pk_daily_wellness_source")),
    )
    op.execute(SEED)
    op.add_column(
        "owner",
        sa.Column("wellness_preference", pg.JSONB(), server_default="{}", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("owner", "wellness_preference")
    op.drop_table("daily_wellness_source")
