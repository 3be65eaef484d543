"""The coach's services: what may reach its language model (``ai_policy``); the coach's own
services land here next."""
