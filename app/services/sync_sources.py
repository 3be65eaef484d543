"""The sources the sync machinery knows: how to build a client from stored tokens, how to
sign in, how to map payloads. Garmin registers here; Strava and Oura will join the same table,
and the nightly job syncs every one that is connected."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.config import Settings
from app.services.sync import Mappers, SourceApi, SyncOptions, garmin_mappers

if TYPE_CHECKING:
    from app.services.linking import LoginClient
    from app.sources.garmin.client import Endpoints


@dataclass(frozen=True)
class SyncSource:
    name: str
    label: str  # the product's own name for it; not translated
    client: Callable[[str], SourceApi]  # from the stored tokens
    login_client: Callable[[], LoginClient]
    mappers: Callable[[], Mappers]
    options: SyncOptions


def garmin_source(settings: Settings, endpoints: Endpoints | None = None) -> SyncSource:
    from app.sources.garmin.client import Endpoints, GarminClient

    where = endpoints or Endpoints.for_domain(settings.garmin_domain)
    return SyncSource(
        name="garmin",
        label="Garmin Connect",
        client=lambda tokens: GarminClient.from_tokens(tokens, endpoints=where),
        login_client=lambda: GarminClient(endpoints=where),
        mappers=garmin_mappers,
        options=SyncOptions(delay_s=settings.sync_delay_s),
    )


def default_sources(settings: Settings) -> dict[str, SyncSource]:
    return {"garmin": garmin_source(settings)}
