"""Every Redis key NextUp uses, in one place.

All keys of one branch share the hash tag ``{branch}`` so that every script touching one branch runs
on one Redis Cluster slot. Scripts receive ``branch_prefix(branch)`` as their one key and name every
other key through Lua functions generated from the functions below when they are loaded
(``k_ticket(ticket_id)`` from ``ticket``; see ``server/scripts.py``); ``tests/test_keys.py`` checks
that both agree and that no script spells a key itself.
"""

from __future__ import annotations

#: Root of every key, so a shared Redis can tell NextUp's keys apart.
ROOT = "nextup"

#: Approximate length the event stream of a branch is trimmed to (XADD MAXLEN ~). At a busy
#: branch's ~4,000 events a day this keeps weeks of events for consumers that were away.
EVENT_STREAM_MAXLEN = 200_000

#: How many recent calls the state keeps for the lobby display's "last calls" list.
RECENT_CALLS = 10

#: How long an idempotency key of a ticket request is remembered, in seconds.
IDEMPOTENCY_TTL_S = 24 * 3600


def branch_prefix(branch: str) -> str:
    """Prefix of every key of one branch: ``nextup:{main}:``."""
    return f"{ROOT}:{{{branch}}}:"


def ticket(branch: str, ticket_id: str) -> str:
    """Hash: one ticket's fields (number, service, status, times, counter ...)."""
    return f"{branch_prefix(branch)}ticket:{ticket_id}"


def queue(branch: str, service: str, priority: bool) -> str:
    """Sorted set: waiting ticket ids of one service and class, scored by their place in line."""
    return f"{branch_prefix(branch)}queue:{service}:{'priority' if priority else 'regular'}"


def counter(branch: str, counter_id: str) -> str:
    """Hash: a counter's status, pause reason, current ticket id and priority streak."""
    return f"{branch_prefix(branch)}counter:{counter_id}"


def numbering(branch: str, day: str) -> str:
    """Hash: service -> last number issued on that business day (YYYY-MM-DD, branch time zone)."""
    return f"{branch_prefix(branch)}numbering:{day}"


def numbers(branch: str, day: str) -> str:
    """Hash: ticket number (A007) -> ticket id, for one business day."""
    return f"{branch_prefix(branch)}numbers:{day}"


def order(branch: str) -> str:
    """String counter: the branch-wide place-in-line sequence; a ticket's score in its queue."""
    return f"{branch_prefix(branch)}order"


def events(branch: str) -> str:
    """Stream: every change of the branch, in order; the entry id is the event's ``seq``."""
    return f"{branch_prefix(branch)}events"


def recent_calls(branch: str) -> str:
    """List: the last RECENT_CALLS calls as JSON, newest first."""
    return f"{branch_prefix(branch)}recent_calls"


def open_counters(branch: str) -> str:
    """Hash: service -> how many open counters serve it (for the wait estimate)."""
    return f"{branch_prefix(branch)}open_counters"


def audit(branch: str) -> str:
    """Stream: staff and admin actions on the branch (actor, role, source address, action, at)."""
    return f"{branch_prefix(branch)}audit"


def config(branch: str) -> str:
    """Hash: the branch configuration as TOML-shaped JSON (``json``), its ``version`` and the hash
    of the branch file last applied (``file_hash``)."""
    return f"{branch_prefix(branch)}config"


def config_channel(branch: str) -> str:
    """Pub/sub channel: a new configuration version of the branch was saved; reload it."""
    return f"{branch_prefix(branch)}config_changed"


def notice(branch: str) -> str:
    """Hash: the notices ticker of the branch's displays (text_zh, text_en, emergency, at, by)."""
    return f"{branch_prefix(branch)}notice"


def emergency(branch: str) -> str:
    """Hash, present only while the branch is in an emergency state (应急预案): kind, text_zh,
    text_en (the manager's own words, may be empty), since, by. Tickets are refused meanwhile."""
    return f"{branch_prefix(branch)}emergency"


def idempotency(branch: str, key: str) -> str:
    """String: ticket id issued for a client's Idempotency-Key, kept IDEMPOTENCY_TTL_S."""
    return f"{branch_prefix(branch)}idempotency:{key}"


def user(username: str) -> str:
    """Hash: an account (password hash, role, branch, counters, disabled)."""
    return f"{ROOT}:user:{username}"


def users() -> str:
    """Set: every username."""
    return f"{ROOT}:users"


def revoked_sessions() -> str:
    """Sorted set: session id of a logged-out token -> its expiry (epoch s), pruned after it."""
    return f"{ROOT}:revoked_sessions"


def user_sessions(username: str) -> str:
    """Sorted set: session ids of an account's tokens -> expiry (epoch s); disabling it revokes them."""
    return f"{ROOT}:user_sessions:{username}"


#: Pub/sub channel telling every server process about a revoked session at once.
REVOCATIONS_CHANNEL = f"{ROOT}:revocations"
#: Pub/sub channel naming an account that was created or changed: every process reads it again.
ACCOUNTS_CHANNEL = f"{ROOT}:accounts"

# --- login throttling (``server.login_throttle``): delays that grow with each failure, per client
# address and per account from an address, instead of locking an account anyone can lock -------------

#: Failed logins from one address (on any accounts) before its attempts are delayed; a hall's staff
#: often share one NAT address.
LOGIN_FREE_FAILURES_PER_ADDRESS = 20
#: Failed logins on one account from one address before that pair's attempts are delayed.
LOGIN_FREE_FAILURES_PER_ACCOUNT = 5
#: The delay after the last free failure, in seconds; it doubles with each further failure ...
LOGIN_FIRST_DELAY_S = 15
#: ... up to this.
LOGIN_MAX_DELAY_S = 15 * 60
#: Failures of an address (or of an account from it) are forgotten this long after the last one.
LOGIN_FAILURES_KEPT_S = 3600
#: Failures on one account from all addresses within LOGIN_ACCOUNT_WINDOW_S after which only
#: addresses that logged in to it before (its known addresses) may try, until the window ends:
#: distributed guessing gets at most this many tries an hour.
LOGIN_ACCOUNT_FAILURE_LIMIT = 100
LOGIN_ACCOUNT_WINDOW_S = 3600
#: An address that logged in to an account stays known for it this long after its last login ...
LOGIN_KNOWN_ADDRESS_S = 30 * 86400
#: ... and an account remembers at most this many (the most recent).
LOGIN_KNOWN_ADDRESSES_MAX = 50


def login_failures(username: str) -> str:
    """String counter: failed logins on an account from any address in the current
    LOGIN_ACCOUNT_WINDOW_S window (the key expires when the window ends)."""
    return f"{ROOT}:login_failures:{username}"


def login_address_failures(address: str) -> str:
    """Hash: failed logins from a client address on any account (``n``) and the last one's time
    (``last_ms``); expires LOGIN_FAILURES_KEPT_S after the last."""
    return f"{ROOT}:login_failures_from:{address}"


def login_account_address_failures(username: str, address: str) -> str:
    """Hash: failed logins on an account from one address (``n``, ``last_ms``); expires
    LOGIN_FAILURES_KEPT_S after the last; a successful login from the address deletes it."""
    return f"{ROOT}:login_failures:{username}:from:{address}"


def login_known_addresses(username: str) -> str:
    """Sorted set: addresses that logged in to an account -> time of the last login (ms); entries
    older than LOGIN_KNOWN_ADDRESS_S and beyond the newest LOGIN_KNOWN_ADDRESSES_MAX are dropped."""
    return f"{ROOT}:login_known:{username}"


def signing_secret() -> str:
    """String, before the secrets file (``server.keyring``): the token-signing key. Start-up moves it
    into the file and deletes it; no key is kept in Redis any more."""
    return f"{ROOT}:signing_secret"


def data_version() -> str:
    """String: the data-format version of the installation's data (``server.migrations``)."""
    return f"{ROOT}:data_version"


def migration_lock() -> str:
    """String with a time to live: held by the one ``nextup migrate`` running (its host and pid)."""
    return f"{ROOT}:migrating"


# --- metrics (``server.metrics``): every key carries the branch hash tag, as the event stream does,
# so the transaction that applies events and records how far it got touches one Cluster slot ------


def _metrics(branch: str) -> str:
    """Prefix of the metrics' keys of one branch."""
    return f"{branch_prefix(branch)}metrics:"


def metrics_applied(branch: str) -> str:
    """String: the id of the last stream entry whose tallies are applied; later ids only apply."""
    return f"{_metrics(branch)}applied"


def metrics_day_tally(branch: str, day: str) -> str:
    """Hash: ``{measure}|{dimension}`` -> integer tally for one local day (YYYY-MM-DD).

    Dimensions are ``all``, ``service=A``, ``counter=1``, ``staff=alice`` and ``hour=09``.
    """
    return f"{_metrics(branch)}day:{day}"


def metrics_day_samples(branch: str, day: str) -> str:
    """List: one JSON object per wait or handling time measured that day, for exact percentiles."""
    return f"{_metrics(branch)}samples:{day}"


def metrics_rollup(branch: str, day: str) -> str:
    """String: a purged day's summary as JSON (tallies and duration statistics); kept for years."""
    return f"{_metrics(branch)}rollup:{day}"


def metrics_days(branch: str) -> str:
    """Sorted set: days (YYYY-MM-DD) that have raw figures, scored by their ordinal, for purging."""
    return f"{_metrics(branch)}days"


def metrics_counters(branch: str) -> str:
    """Hash: counter id -> JSON of what the metrics know of it now: open since, busy since, staff."""
    return f"{_metrics(branch)}counters"


def metrics_waiting(branch: str) -> str:
    """Sorted set: ticket ids waiting now, scored by when they started waiting (ms), for the longest wait."""
    return f"{_metrics(branch)}waiting"


# --- customer feedback (``server.feedback``) --------------------------------------------------------


def rating(branch: str, ticket_id: str) -> str:
    """Hash: a ticket's rating (rating 1-5, comment, at, ms, number, service, counter, staff, day);
    its existence is what refuses a second rating."""
    return f"{branch_prefix(branch)}rating:{ticket_id}"


def ratings(branch: str) -> str:
    """Sorted set: rated ticket ids scored by the rating's time (ms), for the managers' list."""
    return f"{branch_prefix(branch)}ratings"


def complaint(branch: str, complaint_id: str) -> str:
    """Hash: one complaint (text, encrypted phone, state, times, answer, the ticket's number,
    service, counter and staff)."""
    return f"{branch_prefix(branch)}complaint:{complaint_id}"


def complaints(branch: str) -> str:
    """Sorted set: complaint ids scored by when they were filed (ms)."""
    return f"{branch_prefix(branch)}complaints"


def complaint_phones(branch: str) -> str:
    """Sorted set: ids of complaints still holding a phone number, scored by when they were filed
    (ms); the purge erases the numbers older than the retention and removes them from here."""
    return f"{branch_prefix(branch)}complaint_phones"


def ticket_complaints(branch: str, ticket_id: str) -> str:
    """Set: ids of the complaints filed from one ticket's page (at most ``feedback.COMPLAINTS_PER_TICKET``)."""
    return f"{branch_prefix(branch)}ticket_complaints:{ticket_id}"


def feedback_secret() -> str:
    """String, before the secrets file (``server.keyring``): the complaint-phone Fernet key. Start-up
    moves it into the file and deletes it; no key is kept in Redis any more."""
    return f"{ROOT}:feedback_secret"


# --- devices (``server.devices``, ``server.kiosk_ws``) ----------------------------------------------


def device_health(branch: str) -> str:
    """Hash: device name (its account's username) -> JSON health record (``server.devices``)."""
    return f"{branch_prefix(branch)}devices"


def kiosk_issues(branch: str, device: str) -> str:
    """Sorted set: request ids a kiosk issued tickets for -> ms, the window of its rate limit."""
    return f"{branch_prefix(branch)}kiosk_issues:{device}"


#: Seconds a device's pairing request (its code and claim) lives before the device must ask again.
PAIRING_TTL_S = 600
#: Pairing requests one client address may make in any PAIRING_WINDOW_S seconds (anonymous endpoint).
PAIRING_ASKS_LIMIT = 10
PAIRING_WINDOW_S = 60


def pairing_code(code: str) -> str:
    """String (JSON): a pairing request by its code: kind, branch, sha256 of the claim, status, account.

    Never a token: the token is minted when the device claims it. Expires after PAIRING_TTL_S. The
    ``{pairing}`` hash tag keeps every pairing key on one Redis Cluster slot (one transaction).
    """
    return f"{ROOT}:{{pairing}}:code:{code}"


def pairing_claim(claim_hash: str) -> str:
    """String: the code of a pairing request, by the sha256 (hex) of its claim secret; same TTL."""
    return f"{ROOT}:{{pairing}}:claim:{claim_hash}"


def pairing_asks(address: str) -> str:
    """String counter: pairing requests from one client address in the current PAIRING_WINDOW_S."""
    return f"{ROOT}:{{pairing}}:asks:{address}"
