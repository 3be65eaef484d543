"""The LLM coach: prompts as versioned files, schema-validated outputs, deterministic guardrails.
Its decisions reach the database only through services, after validation and owner approval."""
