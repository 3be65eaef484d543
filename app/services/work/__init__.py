"""Background work: the one runner that runs syncs, sign-ins, uploads, recomputes, backups and
restores one at a time (``runner``), and the app's maintenance state while a restore replaces
what it runs on (``maintenance``)."""
