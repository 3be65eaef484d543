"""Training plans: revisions checked by the guardrails and approved by the owner.

``athlete`` reads what the guardrails and estimates need about the owner (one place);
``revisions`` stores plans as revisions (import, change sets, approve, reject) and keeps the
approved revision's workouts on the calendar; ``views`` reads plans for the CLI and the export,
``page`` for the Plan page; ``chat`` turns the owner's message into a change set and a proposed
revision; ``drafting`` has the coach draft a new plan mesocycle by mesocycle.

**States.** A revision is stored PROPOSED with its guardrail report (the plan as the guardrails
left it). Approving it makes it APPROVED, the plan's previous APPROVED revision SUPERSEDED and
the calendar (``planned_workout``) follow it, keeping each workout's state by its stable id.
A revision with a blocking finding is approved only when the owner says they accept the
blocks (``accept_blocks``; recorded on the revision). Nothing reaches ``planned_workout``
before approval.
"""
