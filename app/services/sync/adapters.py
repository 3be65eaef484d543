"""The sources the sync machinery knows: how to build each one's sync protocol
(``app.services.sync.sources``) over a client from the stored tokens, and how to connect. The
nightly job syncs every one that is connected.

Garmin signs in with the owner's email and password (``login_client``); Strava and Oura connect
through OAuth with the owner's own API application (``oauth``), and their clients refresh tokens
through ``app.services.sync.oauth`` so a rotated refresh token is stored before it is used."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from app.config import Settings
from app.services.sync import connections, oauth
from app.services.sync.connections import ClientContext
from app.services.sync.engine import SyncOptions
from app.services.sync.protocol import SyncProtocol

if TYPE_CHECKING:
    from app.services.sync.linking import LoginClient
    from app.sources.garmin.client import Endpoints
    from app.sources.oura.client import Endpoints as OuraEndpoints
    from app.sources.strava.client import Endpoints as StravaEndpoints


@dataclass(frozen=True)
class OAuth:
    """An OAuth source's connect flow, in terms of its adapter."""

    authorize_url: Callable[[str, str, str], str]  # client id, redirect URI, state → URL
    # client id, secret, code, redirect URI → (tokens JSON, account label)
    exchange: Callable[[str, str, str, str], tuple[str, str | None]]
    personal_token: Callable[[str], str] | None = None  # a legacy token → tokens JSON
    revoke: Callable[[ClientContext], None] | None = None  # withdraw the owner's approval
    app_settings_url: str = ""  # where the owner registers their application


@dataclass(frozen=True)
class SyncSource:
    name: str
    label: str  # the product's own name for it; not translated
    client: Callable[[ClientContext], SyncProtocol]  # the source's protocol over its client
    options: SyncOptions
    same_ids_from: tuple[str, ...] = ()  # ``SyncProtocol.same_ids_from``, for the page's estimates
    login_client: Callable[[], LoginClient] | None = None  # email/password sign-in (Garmin)
    oauth: OAuth | None = None
    raw_client: Callable[[ClientContext], Any] | None = None  # the adapter itself (uploads)


def garmin_source(settings: Settings, endpoints: Endpoints | None = None) -> SyncSource:
    from app.services.sync.sources.garmin import GarminSync
    from app.sources.garmin.client import Endpoints, GarminClient

    where = endpoints or Endpoints.for_domain(settings.garmin_domain)
    return SyncSource(
        name="garmin",
        label="Garmin Connect",
        client=lambda context: GarminSync(
            GarminClient.from_tokens(context.tokens, endpoints=where)
        ),
        login_client=lambda: GarminClient(endpoints=where),
        options=SyncOptions(delay_s=settings.sync_delay_s),
        same_ids_from=GarminSync.same_ids_from,
    )


# --- Strava ---------------------------------------------------------------------------------


def strava_source(
    settings: Settings,
    endpoints: StravaEndpoints | None = None,
    clock: Callable[[], datetime] | None = None,
) -> SyncSource:
    from app.services.sync.sources.strava import StravaSync
    from app.sources.strava.client import Endpoints, StravaClient
    from app.sources.strava.sync_api import StravaSyncApi

    where = endpoints or Endpoints()

    def client(context: ClientContext) -> SyncProtocol:
        return StravaSync(StravaSyncApi(strava_client(context, where, clock)))

    def authorize_url(client_id: str, redirect_uri: str, state: str) -> str:
        return StravaClient(endpoints=where).authorization_url(client_id, redirect_uri, state)

    def exchange(client_id: str, secret: str, code: str, redirect_uri: str):
        strava = StravaClient(endpoints=where)
        tokens = strava.exchange_code(client_id, secret, code)
        return tokens, (f"Strava athlete {strava.athlete_id}" if strava.athlete_id else None)

    return SyncSource(
        name="strava",
        label="Strava",
        client=client,
        options=SyncOptions(delay_s=settings.sync_delay_s, window_days=90),
        same_ids_from=StravaSync.same_ids_from,
        raw_client=lambda context: strava_client(context, where, clock),
        oauth=OAuth(
            authorize_url=authorize_url,
            exchange=exchange,
            app_settings_url="https://www.strava.com/settings/api",
            revoke=lambda context: strava_client(context, where, clock).deauthorize(),
        ),
    )


def strava_client(
    context: ClientContext,
    endpoints: StravaEndpoints | None = None,
    clock: Callable[[], datetime] | None = None,
):
    """A Strava client from the stored tokens, refreshed first under the source's lock when it
    is about to expire; a refresh during a long job is stored at once (``on_refresh``)."""
    from app.sources.strava.client import StravaClient

    def keep(tokens: str) -> None:
        with context.sessions.begin() as session:
            connections.keep_rotated_tokens(session, context.box, "strava", tokens)

    def refresh(tokens: str, credentials: oauth.AppCredentials | None) -> str | None:
        probe = StravaClient.from_tokens(tokens, endpoints=endpoints, clock=clock)
        if credentials is None or not probe.needs_refresh():
            return None
        return probe.refresh(credentials.client_id, credentials.client_secret)

    tokens = oauth.fresh_tokens(context.sessions, context.box, "strava", refresh)
    with context.sessions() as session:
        credentials = oauth.load_app_credentials(session, context.box, "strava")
    return StravaClient.from_tokens(
        tokens,
        client_id=credentials.client_id if credentials else None,
        client_secret=credentials.client_secret if credentials else None,
        endpoints=endpoints,
        clock=clock,
        on_refresh=keep,
    )


# --- Oura -----------------------------------------------------------------------------------


def oura_source(
    settings: Settings,
    endpoints: OuraEndpoints | None = None,
    clock: Callable[[], float] | None = None,
) -> SyncSource:
    from app.services.sync.sources.oura import OuraSync
    from app.sources.oura.client import Endpoints, OuraClient, OuraTokens
    from app.sources.oura.sync_api import OuraSyncApi

    where = endpoints or Endpoints()
    extra: dict[str, Any] = {"endpoints": where}
    if clock is not None:
        extra["clock"] = clock

    def client(context: ClientContext) -> SyncProtocol:
        return OuraSync(
            OuraSyncApi(
                OuraClient.from_tokens(context.tokens, **extra),
                ensure_fresh=lambda held: oura_refresh(context, held, **extra),
            )
        )

    def authorize_url(client_id: str, redirect_uri: str, state: str) -> str:
        with OuraClient(**extra) as oura:
            return oura.authorization_url(client_id, redirect_uri, state)

    def exchange(client_id: str, secret: str, code: str, redirect_uri: str):
        with OuraClient(**extra) as oura:
            tokens = oura.exchange_code(client_id, secret, code, redirect_uri)
            return tokens.to_json(), _oura_account(oura)

    def personal_token(token: str) -> str:
        with OuraClient.from_personal_token(token, **extra) as oura:
            account = _oura_account(oura)  # proves the token works before it is stored
            del account
            return OuraTokens(access_token=token.strip()).to_json()

    return SyncSource(
        name="oura",
        label="Oura",
        client=client,
        same_ids_from=OuraSync.same_ids_from,
        options=SyncOptions(delay_s=settings.sync_delay_s, window_days=30),
        oauth=OAuth(
            authorize_url=authorize_url,
            exchange=exchange,
            personal_token=personal_token,
            app_settings_url="https://developer.ouraring.com/applications",
        ),
    )


def _oura_account(oura) -> str | None:
    info = oura.personal_info()
    email = info.get("email")
    return email if isinstance(email, str) and email else None


def oura_refresh(context: ClientContext, held, **client_kwargs: Any) -> None:
    """Refresh ``held`` (an ``OuraClient``) when its access token is about to expire: under the
    source's lock, from the tokens stored *now* (another process may have refreshed already),
    with the new pair committed before ``held`` uses it."""
    from app.sources.oura.client import OuraAuthError, OuraClient

    if not held.needs_refresh():
        return

    def refresh(tokens: str, credentials: oauth.AppCredentials | None) -> str | None:
        stored = OuraClient.from_tokens(tokens, **client_kwargs)
        try:
            if not stored.needs_refresh():
                return None
            if credentials is None:
                raise OuraAuthError(
                    "no Oura client secret to refresh with", code="oura_not_connected"
                )
            return stored.refresh(credentials.client_id, credentials.client_secret).to_json()
        finally:
            stored.close()

    tokens = oauth.fresh_tokens(context.sessions, context.box, "oura", refresh)
    held.adopt(tokens)


def default_sources(settings: Settings) -> dict[str, SyncSource]:
    return {
        "garmin": garmin_source(settings),
        "strava": strava_source(settings),
        "oura": oura_source(settings),
    }
