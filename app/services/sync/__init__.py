"""Syncing connected services: the sync engine (``engine``), how each adapter plugs into it
(``adapters``), connecting and disconnecting (``connections``: tokens, cooldowns; ``oauth``;
``linking``: email/password sign-in and MFA), the Connections page's status (``status``) and
Strava uploads (``strava_uploads``)."""
