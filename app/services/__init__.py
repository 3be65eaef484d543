"""Use cases: import, sync, recompute, plan, backup. Services own transactions."""
