"""Background work: the one runner that runs syncs, sign-ins, uploads, recomputes, backups and
restores one at a time (``runner``), its record of every run (``runs``: the ``work_run`` table
the Settings page reads about backups and restores), the scheduled jobs' record (``schedule``)
and the app's maintenance state while a restore replaces what it runs on (``maintenance``)."""
