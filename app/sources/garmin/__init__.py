"""Garmin Connect: ``client.GarminClient`` (login, tokens, raw JSON and original files through
``garminconnect``) and ``mapper`` (that JSON to our records)."""
