"""Syncing connected services: the sync engine (``engine``), the one protocol it drives every
source through (``protocol``) and each source's implementation of it (``sources.garmin``,
``sources.strava``, ``sources.oura``), the registry of sources and how each connects
(``adapters``), connecting and disconnecting (``connections``: tokens, cooldowns; ``oauth``;
``linking``: email/password sign-in and MFA), the Connections page's status (``status``) and
Strava uploads (``strava_uploads``)."""
