"""Benchmarks (`make bench`): named figures printed and written to data/bench/latest.json.

Each group is a function returning ``{name: value}``; register it in GROUPS. Targets live here,
never in timed tests.
"""
