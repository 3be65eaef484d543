"""Use cases, one package per room: ``sync`` (the engine, the adapters it knows, connecting and
disconnecting, OAuth, sign-in, the Connections page's status, Strava uploads), ``work`` (the
one background-work runner, the scheduled jobs' record, the maintenance state), ``imports``
(import jobs, their runner, the store), ``metrics`` (per activity, per day, estimates and where
they come from), ``wellness`` (each source's values and which wins; the trends), ``backups``,
``owner`` (account, preferences, training profile), ``pages`` (the read model behind each page),
``coach`` and ``plans`` (plans stored as revisions, approval, the calendar, chat and
drafting). ``raw_store`` (every original file, kept forever) is shared by imports, sync, backups
and the pages.

**The transaction rule.** A service function that writes takes a ``sessionmaker`` and owns its
unit of work (``with sessions.begin() as session: ...``): the caller — a route, a job, the CLI —
never opens a transaction. A read helper, or a step that a writing service composes inside its
own unit of work, may take a ``Session``. Routes call one service function and render.
"""
