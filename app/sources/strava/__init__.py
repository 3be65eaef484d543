"""Strava API v3: ``client.StravaClient`` (OAuth, tokens, raw JSON, uploads through stravalib's
protocol layer) and ``mapper`` (that JSON to our records).

Strava's API agreement forbids using API data with AI models: every record built here carries
``extras["strava_api"] = True`` so that nothing derived from it alone reaches the coach's LLM.
"""
