"""Source adapters, one package per external protocol or file format (``app/sources/<name>/``:
a ``client.py`` for a service, a reader or parser for a file format, a ``mapper.py`` to typed
records; the LLM adapter's ``schemas.py`` types its results). They return typed records and
raise only these errors; they never import the database or the web layer."""


class SourceError(Exception):
    """Base of every error a source adapter raises."""


class SourceAuthError(SourceError):
    """Credentials were refused or expired: the owner must reconnect."""


class MfaCodeRejected(SourceAuthError):
    """The MFA code was wrong or expired; the same pending sign-in may be tried again."""


class SourceRateLimited(SourceError):
    """The service asked us to slow down; ``retry_after`` seconds when it said."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SourceUnavailable(SourceError):
    """The service is down or unreachable; try again later."""


class SourceDataError(SourceError):
    """The payload or file is malformed; nothing from it was stored.

    ``code`` names the problem for the owner (``app.messages`` turns it into a
    Korean or English sentence); ``params`` fill that sentence; the message is for logs.
    """

    def __init__(self, message: str, *, code: str = "malformed", **params: object) -> None:
        super().__init__(message)
        self.code = code
        self.params = params
