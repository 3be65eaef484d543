"""Oura API v2: ``client.OuraClient`` (OAuth with single-use refresh tokens, a legacy personal
access token, the ``usercollection`` documents as raw JSON) and ``mapper`` (that JSON to our
records: ``DailyWellness`` per local date, ``Activity`` summaries for workouts).

Payload shapes follow Oura's published API v2 schemas (https://cloud.ouraring.com/v2/docs), not a
recording: no real Oura answer is in ``tests/fixtures``.
"""
