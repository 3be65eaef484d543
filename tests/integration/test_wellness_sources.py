"""Every source's wellness values are kept; the owner (or the Oura default) picks the winner per
metric group; re-resolving is set-based; the migration seeds the per-source rows."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, select, text

from app import records
from app.db.migrate import alembic_config, downgrade, upgrade
from app.models import Connection, DailyWellness, DailyWellnessSource
from app.services.imports import store
from app.services.wellness import origins
from tests.support.queries import count_queries

DAY = date(2025, 6, 1)
MIGRATION = "0008"

GARMIN = {"sleep_s": 25200.0, "sleep_score": 81.0, "resting_hr": 47.0, "hrv_rmssd_ms": 55.0}
OURA = {"sleep_s": 26100.0, "resting_hr": 44.0, "hrv_rmssd_ms": 61.0, "training_readiness": 77}


def _merge(session, *entries: tuple[str, dict], day: date = DAY, extras=None) -> list[date]:
    return store.merge_wellness(
        session,
        [
            records.DailyWellness(day, source, values, extras=dict(extras or {}))
            for source, values in entries
        ],
    )


def _row(session, day: date = DAY) -> DailyWellness:
    session.expire_all()
    return session.get(DailyWellness, day)


def _connect_oura(session, status: str = "connected") -> None:
    session.merge(Connection(source="oura", status=status))
    session.flush()


def test_every_source_is_kept_and_merged_field_by_field(db_session):
    extras = {"stress_high_s": 3600.0, "readiness_contributors": {"hrv_balance": 75}}
    assert _merge(db_session, ("garmin", GARMIN)) == [DAY]
    assert _merge(db_session, ("oura", OURA), extras=extras) == [DAY]  # readiness is new
    kept = {
        row.source: row
        for row in db_session.execute(select(DailyWellnessSource)).scalars()  # both sources
    }
    assert set(kept) == {"garmin", "oura"}
    assert kept["garmin"].values == GARMIN and kept["oura"].values == OURA
    assert kept["oura"].extras == extras and kept["garmin"].extras == {}

    row = _row(db_session)
    assert (row.sleep_s, row.resting_hr, row.hrv_rmssd_ms) == (25200, 47, 55)  # Garmin first
    assert row.training_readiness == 77  # only Oura has it
    assert row.sources == {
        "sleep_s": "garmin",
        "sleep_score": "garmin",
        "resting_hr": "garmin",
        "hrv_rmssd_ms": "garmin",
        "training_readiness": "oura",
    }

    # Oura sends the day again with one value: the others it sent before stay.
    assert _merge(db_session, ("oura", {"spo2_avg": 96.5}), extras={"vo2_max": 44.0}) == [DAY]
    oura = db_session.get(DailyWellnessSource, (DAY, "oura"))
    db_session.refresh(oura)
    assert oura.values == {**OURA, "spo2_avg": 96.5}
    assert oura.extras == {**extras, "vo2_max": 44.0}
    # The same values again change nothing; a losing value is kept but changes no day.
    assert _merge(db_session, ("oura", {"spo2_avg": 96.5})) == []
    assert _merge(db_session, ("apple_health", {"resting_hr": 52.0})) == []
    assert db_session.get(DailyWellnessSource, (DAY, "apple_health")).values == {"resting_hr": 52}
    assert _row(db_session).resting_hr == 47


def test_the_owners_choice_switches_the_winner_and_back(db_session, owner):
    _merge(db_session, ("garmin", GARMIN), ("oura", OURA))
    assert origins.save_preference(db_session, {"sleep": "oura"}) == [DAY]
    row = _row(db_session)
    assert row.sleep_s == 26100 and row.sources["sleep_s"] == "oura"
    assert row.sleep_score == 81 and row.sources["sleep_score"] == "garmin"  # Oura has none
    assert row.resting_hr == 47 and row.hrv_rmssd_ms == 55  # other groups: unchanged
    assert owner.wellness_preference == {"sleep": "oura"}

    origins.save_preference(db_session, {"sleep": "oura", "heart": "oura"})
    assert _row(db_session).resting_hr == 44

    assert origins.save_preference(db_session, {}) == [DAY]  # back to automatic
    row = _row(db_session)
    assert (row.sleep_s, row.resting_hr) == (25200, 47)
    assert set(row.sources.values()) == {"garmin", "oura"}
    assert origins.save_preference(db_session, {}) == []  # nothing to change


def test_new_values_follow_the_choice(db_session, owner):
    origins.save_preference(db_session, {"readiness": "oura"})
    _merge(db_session, ("garmin", GARMIN))
    _merge(db_session, ("oura", OURA))
    assert _row(db_session).hrv_rmssd_ms == 61  # Oura's, though Garmin ranks first


def test_an_unknown_source_is_refused(db_session, owner):
    with pytest.raises(origins.WellnessSourceError, match="fitbit"):
        origins.save_preference(db_session, {"sleep": "fitbit"})
    assert owner.wellness_preference == {}


def test_oura_wins_sleep_and_readiness_by_default_while_connected(db_session, owner):
    _merge(db_session, ("garmin", GARMIN), ("oura", OURA))
    assert _row(db_session).sleep_s == 25200  # no Oura connection: Garmin first

    _connect_oura(db_session)
    assert origins.resolve_wellness(db_session) == [DAY]
    row = _row(db_session)
    assert (row.sleep_s, row.hrv_rmssd_ms) == (26100, 61)  # sleep, readiness: Oura
    assert row.sleep_score == 81  # Oura has no score that day: the next source fills in
    assert row.resting_hr == 47  # heart: still Garmin first

    # The owner's choice beats the default.
    origins.save_preference(db_session, {"sleep": "garmin"})
    row = _row(db_session)
    assert (row.sleep_s, row.hrv_rmssd_ms) == (25200, 61)

    origins.save_preference(db_session, {})
    _connect_oura(db_session, status="needs_reconnect")
    origins.resolve_wellness(db_session, [DAY])
    assert _row(db_session).sleep_s == 25200  # not connected: Garmin first again


def test_equal_priority_goes_to_the_source_that_changed_last(db_session):
    _merge(db_session, ("garmin_export", {"steps": 9000.0}))
    db_session.execute(
        text("UPDATE daily_wellness_source SET updated_at = now() - '1 day'::interval")
    )
    assert _merge(db_session, ("garmin", {"steps": 9100.0})) == [DAY]
    assert _row(db_session).steps == 9100


def test_values_without_a_source_row_stay(db_session):
    db_session.add(DailyWellness(day=DAY, weight_kg=70.5, sources={}))
    db_session.flush()
    _merge(db_session, ("garmin", {"steps": 9000.0}))
    origins.resolve_wellness(db_session)
    row = _row(db_session)
    assert (row.weight_kg, row.steps) == (70.5, 9000)


def test_resolving_a_long_history_is_set_based(db_session, owner, connection):
    days = [DAY - timedelta(days=i) for i in range(2500)]  # more than two batches
    entries = [
        records.DailyWellness(day, source, values)
        for day in days
        for source, values in (("garmin", GARMIN), ("oura", OURA))
    ]
    with count_queries(connection) as merging:
        assert len(store.merge_wellness(db_session, entries)) == len(days)
    with count_queries(connection) as resolving:
        changed = origins.save_preference(db_session, {"sleep": "oura"})
    assert sorted(changed) == sorted(days)
    batches = -(-len(days) // origins.BATCH_DAYS)
    assert len(merging) <= 2 + 6 * batches
    assert len(resolving) <= 6 + 4 * batches
    assert db_session.execute(
        text("SELECT count(*) FROM daily_wellness WHERE sources->>'sleep_s' = 'oura'")
    ).scalar_one() == len(days)


def test_the_migration_seeds_every_kept_value_under_its_source(pg_cluster):
    url = pg_cluster.create_database("domestique_wellness_seed")
    engine = create_engine(url)
    previous = (
        ScriptDirectory.from_config(alembic_config(url)).get_revision(MIGRATION).down_revision
    )
    try:
        upgrade(url, previous)
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO daily_wellness (day, resting_hr, steps, sleep_s, weight_kg, "
                    "sources, updated_at) VALUES "
                    "('2025-06-01', 47, 9000, 25200, 70.5, "
                    """'{"resting_hr": "garmin", "steps": "apple_health", "sleep_s": "garmin"}', """
                    "'2025-06-02T06:00:00+00'), "
                    """('2025-06-02', NULL, 8000, NULL, NULL, '{"steps": "garmin"}', now())"""
                )
            )
            conn.execute(
                text(
                    "INSERT INTO owner (id, display_name, username, password_hash, timezone) "
                    "VALUES (1, 'a', 'a', 'x', 'UTC')"
                )
            )
        upgrade(url, MIGRATION)
        with engine.connect() as conn:
            seeded = {
                (str(day), source): values
                for day, source, values in conn.execute(
                    text('SELECT day, source, "values" FROM daily_wellness_source')
                )
            }
            preference = conn.execute(text("SELECT wellness_preference FROM owner")).scalar()
        # The unattributed weight is left in daily_wellness only.
        assert seeded == {
            ("2025-06-01", "garmin"): {"resting_hr": 47, "sleep_s": 25200},
            ("2025-06-01", "apple_health"): {"steps": 9000},
            ("2025-06-02", "garmin"): {"steps": 8000},
        }
        assert preference == {}
        downgrade(url, previous)
        upgrade(url, MIGRATION)
    finally:
        engine.dispose()
