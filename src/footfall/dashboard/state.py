"""`Dashboard`: the account stores and login throttle of one app, built at its first use.

The stores are thin wrappers around the metadata engine the app's services opened; the
throttle counts failed sign-ins in the services' rate limiter (memory, or Redis in cluster
mode). One `Dashboard` lives on `app.state` for the life of the app (no lifespan work:
nothing here needs opening or closing).
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from footfall.accounts.login_throttle import LoginThrottle, RateLimitLoginThrottle
from footfall.accounts.members import Memberships
from footfall.accounts.sessions import SessionStore
from footfall.accounts.users import UserStore
from footfall.clock import Clock
from footfall.config import Settings
from footfall.ingestion.visitor import SaltRing
from footfall.services import Services


@dataclass
class Dashboard:
    services: Services
    users: UserStore
    sessions: SessionStore
    members: Memberships
    throttle: LoginThrottle

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def clock(self) -> Clock:
        return self.services.clock

    def now(self) -> float:
        return self.services.clock.now()


def dashboard(request: Request) -> Dashboard:
    """The app's `Dashboard`, created on first use and again if the app's services were
    reopened (this runs without a suspension point: two requests cannot both create one)."""
    state = request.app.state
    services: Services = state.services
    found: Dashboard | None = getattr(state, "dashboard", None)
    if found is None or found.services is not services:
        engine = services.meta.engine
        salts = SaltRing(services.meta)

        async def secret_for(now: float) -> bytes:
            return (await salts.for_time(now)).current

        found = Dashboard(
            services=services,
            users=UserStore(engine),
            sessions=SessionStore(engine),
            members=Memberships(engine),
            throttle=RateLimitLoginThrottle(services.limits.limiter, secret_for),
        )
        state.dashboard = found
    return found
