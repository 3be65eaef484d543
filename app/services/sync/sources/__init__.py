"""The sync protocol (``app.services.sync.protocol.SyncProtocol``) for each source, one module
each: how its items are listed, found again and decoded, whether it has wellness, and what to do
when another source already holds an activity. The adapters in ``app/sources/<name>/`` speak
the service's HTTP; these put it in the engine's terms."""
