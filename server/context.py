"""What every endpoint of a running server works with, typed: one ``Context`` per app.

The app's lifespan (``server.app``) builds it once everything has started and keeps it as
``app.state.nextup``; handlers reach it with ``context(request_or_websocket)``. Nothing else of a
server lives on ``app.state``, and no module keeps a server's objects in globals.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.requests import HTTPConnection

from server.account_cache import AccountCache
from server.auth import Accounts, Identity, TokenSigner
from server.branch_config import BranchConfig
from server.fanout import Fanout
from server.metrics.consumer import MetricsConsumer
from server.metrics.estimate import WaitEstimator
from server.phone_cipher import PhoneCipher
from server.presence import DISPLAY_PRESENCE_S, PresenceThrottle
from server.sessions import Revocations
from server.settings import Settings
from server.store import QueueStore


@dataclass
class Context:
    settings: Settings
    store: QueueStore
    accounts: Accounts
    signer: TokenSigner
    revocations: Revocations
    config: BranchConfig
    account_cache: AccountCache
    #: Complainants' phone numbers, encrypted with the secrets file's keys.
    phone_cipher: PhoneCipher
    #: The branch's events to every websocket of this process.
    fanout: Fanout
    #: The exactly-once consumer of the event stream into the metrics.
    metrics: MetricsConsumer
    #: The modelled wait of every waiting ticket.
    estimator: WaitEstimator
    #: Connected displays recorded in the devices report at most once a period per account.
    presence: PresenceThrottle = field(default_factory=lambda: PresenceThrottle(DISPLAY_PRESENCE_S))

    async def verify(self, token: str) -> Identity:
        """The identity of a token whose signature, expiry, session and account all still hold; else 401."""
        identity = self.signer.verify(token)
        await self.account_cache.check(identity)
        return identity


def context(connection: HTTPConnection) -> Context:
    """The context of the app a request or websocket reached."""
    ctx: Context = connection.app.state.nextup
    return ctx
