"""The adapters' payload schemas, checked where a list enters the sync: the payload passes on
untouched when it keeps the contract, and breaking it is the adapter's own ``*_bad_payload``."""

from __future__ import annotations

import pytest

from app.sources import SourceDataError
from app.sources.garmin import schemas as garmin
from app.sources.oura import schemas as oura
from app.sources.payloads import checked
from app.sources.strava import schemas as strava


def test_a_payload_that_keeps_the_contract_passes_untouched():
    listed = [
        {"activityId": 21, "startTimeLocal": "2026-11-20 07:00:00", "extra": {"kept": True}},
        {"activityId": 22, "startTimeGMT": None},
    ]
    result = checked(garmin.ACTIVITY_LIST, listed, code="garmin_bad_payload", what="list")
    assert result is listed
    assert result[0]["extra"] == {"kept": True}


@pytest.mark.parametrize(
    ("schema", "payload", "code"),
    [
        (garmin.ACTIVITY_LIST, [{"startTimeGMT": "2026-11-20 06:00:00"}], "garmin_bad_payload"),
        (garmin.ACTIVITY, {"activityId": "not a number"}, "garmin_bad_payload"),
        (strava.ACTIVITY_LIST, [{"id": 1, "start_date": 20261120}], "strava_bad_payload"),
        (strava.ACTIVITY_LIST, {"id": 1}, "strava_bad_payload"),  # not a list
        (oura.WORKOUT_LIST, [{"day": "2026-11-20"}], "oura_bad_payload"),
    ],
)
def test_a_payload_that_breaks_the_contract_is_the_adapter_s_data_error(schema, payload, code):
    with pytest.raises(SourceDataError) as caught:
        checked(schema, payload, code=code, what="payload")
    assert caught.value.code == code
