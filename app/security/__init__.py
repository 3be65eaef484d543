"""Secrets at rest, password hashing and the redaction of secrets from logs."""
