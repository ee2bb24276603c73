"""Settings for every mode, driven by the environment (see docs/configuration.md).

Two modes, picked by the variables alone:

* embedded (default, nothing set): SQLite in WAL mode under ``SCRM_DATA_DIR``, the in-memory
  channel layer, Celery tasks on an in-process worker and an in-process scheduler for periodic
  jobs, locmem cache;
* services (``DATABASE_URL`` and ``REDIS_URL`` set): PostgreSQL, channels-redis, Redis as Celery
  broker and cache, a separate worker and beat.

With ``DJANGO_DEBUG`` off (the default), ``DJANGO_SECRET_KEY`` and ``SCRM_ENCRYPTION_KEYS`` must be
given: the process refuses to start without them rather than run with a guessable key.
"""

from __future__ import annotations

import contextlib
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", default=False)
DATA_DIR = Path(os.environ.get("SCRM_DATA_DIR", BASE_DIR / "var"))

DATABASE_URL = os.environ.get("DATABASE_URL", "")
REDIS_URL = os.environ.get("REDIS_URL", "")
# Services mode needs both: a PostgreSQL without Redis (or the reverse) is a configuration error,
# not a silent half-embedded setup.
if bool(DATABASE_URL) != bool(REDIS_URL):
    raise ImproperlyConfigured(
        "Services mode needs both DATABASE_URL and REDIS_URL; set both, or neither for the "
        "embedded mode."
    )
SERVICES_MODE = bool(DATABASE_URL and REDIS_URL)
SCRM_MODE = "services" if SERVICES_MODE else "embedded"

# --- secrets -------------------------------------------------------------------------------
# Development-only fallbacks; never used with DEBUG off.
_DEV_SECRET_KEY = "dev-only-insecure-secret-key-change-me-0123456789abcdefghijklmnop"  # noqa: S105
# kid "dev1", 32 zero-ish bytes: obviously not a real key.
_DEV_ENCRYPTION_KEYS = "dev1:ZGV2LW9ubHktZW5jcnlwdGlvbi1rZXktMzItYnl0ZXM="

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
SCRM_ENCRYPTION_KEYS = os.environ.get("SCRM_ENCRYPTION_KEYS", "")
if not DEBUG:
    missing = [
        name
        for name, value in (
            ("DJANGO_SECRET_KEY", SECRET_KEY),
            ("SCRM_ENCRYPTION_KEYS", SCRM_ENCRYPTION_KEYS),
        )
        if not value
    ]
    if missing:
        raise ImproperlyConfigured(
            f"DJANGO_DEBUG is off, so {' and '.join(missing)} must be set "
            "(see docs/configuration.md). Set DJANGO_DEBUG=1 for local development."
        )
SECRET_KEY = SECRET_KEY or _DEV_SECRET_KEY
# Blind-index master keys (scrm/blind.py, docs/customer-data.md): "kid:base64[,...]", the first
# the current one. Kept apart from the encryption keys, so rotating those changes no index.
# SCRM_BLIND_INDEX_KEY is the single key of before issue 16 (id "i0"); with neither, indexes
# are keyed from an encryption key, which then cannot be removed before an index rotation.
SCRM_BLIND_INDEX_KEYS = os.environ.get("SCRM_BLIND_INDEX_KEYS", "")
SCRM_BLIND_INDEX_KEY = os.environ.get("SCRM_BLIND_INDEX_KEY", "")
SCRM_ENCRYPTION_KEYS = SCRM_ENCRYPTION_KEYS or _DEV_ENCRYPTION_KEYS

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

# --- applications --------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    # Sign-in lockout (django-axes) and TOTP two-factor (django-otp); see docs/security.md.
    # DRF's authtoken app is gone: API tokens are inbox.ApiToken, stored hashed (migration 0008
    # moved any old keys over).
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "drf_spectacular",
    # Swagger UI's files served from our own static files, not a CDN (see SPECTACULAR_SETTINGS).
    "drf_spectacular_sidecar",
    "scrm",
    "inbox",
    "templates_app",
    "monitoring",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy and Permissions-Policy on every response (docs/ui.md).
    "scrm.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # A NUL in the path or query string is a 400 before any view (PostgreSQL refuses it).
    "scrm.params.RejectMalformedQueryMiddleware",
    # The client's address for the audit events this request writes (kept as a keyed hash).
    "monitoring.audit_log.address.AuditAddressMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Django's, moving sessions of Django's own ModelBackend to scrm.auth.ModelBackend.
    "scrm.auth.AuthenticationMiddleware",
    "scrm.middleware.UserTimezoneMiddleware",
    # The signed-in person's language (theirs, else their organisation's) over LocaleMiddleware's
    # browser choice.
    "scrm.middleware.UserLanguageMiddleware",
    # After the member is loaded: supervisors and admins of an organisation that requires
    # two-factor sign-in go to its set-up page first.
    "inbox.web.middleware.TwoFactorRequiredMiddleware",
    # Keeps each signed-in session's current key on record ("log out everywhere" ends it).
    "inbox.web.middleware.SignInSessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a locked-out sign-in into our lockout answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "scrm.urls"
WSGI_APPLICATION = "scrm.wsgi.application"
ASGI_APPLICATION = "scrm.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "scrm" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- data ----------------------------------------------------------------------------------
if SERVICES_MODE:
    # A pool per process, never persistent per-thread connections: under ASGI every request runs
    # in a thread of its own, and CONN_MAX_AGE would leave one open connection per dead thread.
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": int(os.environ.get("SCRM_DB_POOL_MIN", 2)),
        "max_size": int(os.environ.get("SCRM_DB_POOL_MAX", 10)),
        # How long a unit of work waits for a connection (none free, or the database down).
        "timeout": float(os.environ.get("SCRM_DB_POOL_TIMEOUT_SECONDS", 10)),
    }
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SCRM_SQLITE_PATH", str(DATA_DIR / "scrm.sqlite3")),
            "OPTIONS": {
                # WAL lets the web server read while a writer commits; IMMEDIATE takes the write
                # lock at BEGIN so concurrent writers queue instead of failing with "locked".
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;"
                ),
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
            # A file, not memory, so a test can hand the database to a worker subprocess.
            "TEST": {"NAME": str(DATA_DIR / "test.sqlite3")},
        }
    }
    # The message-token index carries the shop id as an included column on PostgreSQL (an
    # index-only scan); SQLite has no such columns and reads the row instead: nothing to warn of.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if SERVICES_MODE:
    # Django's Redis cache, its connections shared by the process's requests (scrm/cache.py).
    CACHES = {"default": {"BACKEND": "scrm.cache.RedisCache", "LOCATION": REDIS_URL}}
    # Sessions are read from Redis and written through to the database: every request reads
    # its session, and a Redis read costs a fraction of a PostgreSQL query.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- real time: every timeout on the websocket path (docs/configuration.md "Real time") ----
# Server -> browser: a service publishes on commit -> Redis (channel layer) -> the consumer's
# blocking pop -> the socket. Each wait on that path is named here; the checks below refuse
# combinations that close idle sockets.
# The channel layer's blocking pop (channels-redis's BZPOPMIN; 5 s upstream, not a setting there).
SCRM_CHANNEL_BLOCKING_POP_SECONDS = float(os.environ.get("SCRM_CHANNEL_BLOCKING_POP_SECONDS", 5))
# The Redis client's read timeout for the channel layer: must outlast the blocking pop, or every
# idle socket races it (redis-py 8 defaults to 5 s, the same as the pop: the bug of issue 10).
SCRM_REDIS_SOCKET_TIMEOUT = float(os.environ.get("SCRM_REDIS_SOCKET_TIMEOUT", 15))
SCRM_REDIS_CONNECT_TIMEOUT = float(os.environ.get("SCRM_REDIS_CONNECT_TIMEOUT", 5))
# An idle pooled Redis connection is PINGed before reuse after this long (a dead one is replaced).
SCRM_REDIS_HEALTH_CHECK_SECONDS = int(os.environ.get("SCRM_REDIS_HEALTH_CHECK_SECONDS", 30))
# channels-redis forgets a group member after this long (24 h upstream); sockets re-join sooner.
SCRM_CHANNEL_GROUP_EXPIRY_SECONDS = int(os.environ.get("SCRM_CHANNEL_GROUP_EXPIRY_SECONDS", 86400))
# Each open socket re-checks its user's access, re-joins its groups and refreshes its presence
# this often (a backstop for changes made outside the app; changes through the app are at once).
# Shorter than the group expiry and than the presence window (inbox.services.presence).
SCRM_WS_RECHECK_SECONDS = float(os.environ.get("SCRM_WS_RECHECK_SECONDS", 60))
# Uvicorn's protocol-level pings to the browser: a socket whose peer does not answer a ping
# within the timeout is closed (a dead network path is noticed without any traffic of ours).
SCRM_WS_PING_INTERVAL = float(os.environ.get("SCRM_WS_PING_INTERVAL", 20))
SCRM_WS_PING_TIMEOUT = float(os.environ.get("SCRM_WS_PING_TIMEOUT", 20))
# The browser's own {"type": "ping"} period (sent to it in the hello); a pong missing for this
# long plus SCRM_WS_PING_TIMEOUT makes it reconnect.
SCRM_WS_CLIENT_PING_SECONDS = float(os.environ.get("SCRM_WS_CLIENT_PING_SECONDS", 30))
# Check every published event's payload against its kind's schema (scrm/events.py) and refuse a
# mismatch: on in development and tests, off in production (a drift fails a test, never an event).
SCRM_EVENTS_CHECK_SCHEMA = env_bool("SCRM_EVENTS_CHECK_SCHEMA", default=DEBUG)
if SCRM_WS_RECHECK_SECONDS >= SCRM_CHANNEL_GROUP_EXPIRY_SECONDS:
    raise ImproperlyConfigured(
        "SCRM_WS_RECHECK_SECONDS must be shorter than SCRM_CHANNEL_GROUP_EXPIRY_SECONDS: a socket "
        "re-joins its groups on that period, before the channel layer forgets it."
    )
if SERVICES_MODE:
    CHANNEL_LAYERS = {
        "default": {
            # channels-redis's layer with the blocking pop as a setting (it refuses a socket
            # timeout that does not outlast the pop).
            "BACKEND": "scrm.channel_layer.RedisChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "socket_timeout": SCRM_REDIS_SOCKET_TIMEOUT,
                        "socket_connect_timeout": SCRM_REDIS_CONNECT_TIMEOUT,
                        "socket_keepalive": True,
                        "health_check_interval": SCRM_REDIS_HEALTH_CHECK_SECONDS,
                        # No retry on timeout: a pop retried after its reply was lost would lose
                        # the message it had taken; with the timeout above, a timeout means a
                        # Redis that is really gone, and the client reconnects and resyncs.
                    }
                ],
                "prefix": os.environ.get("SCRM_CHANNEL_PREFIX", "scrm"),
                "blocking_pop_seconds": SCRM_CHANNEL_BLOCKING_POP_SECONDS,
                "group_expiry": SCRM_CHANNEL_GROUP_EXPIRY_SECONDS,
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            # Channels' in-memory layer, safe to push to from the worker's threads.
            "BACKEND": "scrm.channel_layer.InMemoryChannelLayer",
            "CONFIG": {"group_expiry": SCRM_CHANNEL_GROUP_EXPIRY_SECONDS},
        }
    }

# --- Celery --------------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
# The embedded mode runs tasks on its in-process worker (scrm/worker.py), off the request as
# services mode's celery worker does; SCRM_WORKER_THREADS is how many at once. SCRM_TASKS_EAGER
# runs them in their caller instead (the test suite's default, tests/_env.py); embedded mode
# only: services mode's processes (a celery worker started by a test too) never run eagerly.
SCRM_TASKS_EAGER = env_bool("SCRM_TASKS_EAGER", default=False) and not SERVICES_MODE
CELERY_TASK_ALWAYS_EAGER = SCRM_TASKS_EAGER
SCRM_IN_PROCESS_WORKER = not SERVICES_MODE and not SCRM_TASKS_EAGER
SCRM_WORKER_THREADS = int(os.environ.get("SCRM_WORKER_THREADS", 2))
if SCRM_WORKER_THREADS < 1:
    raise ImproperlyConfigured("SCRM_WORKER_THREADS must be 1 or more.")
# Services mode's celery worker: processes in its pool, two a core by default. A task spends
# most of its time waiting (the platform's API over HTTP, the database, Redis), so one process
# a core leaves the cores idle while the work queues: the soak at 100 buyer messages/s on 2
# cores fell behind with 2 processes (85 % of the machine busy, the workers 40 % of a core each,
# +1,000 webhooks a minute) and held with 4 (backlog under 80 for five minutes, a SIGKILL
# included; docs/performance.md, issue 18). Processing stored webhooks alone gains little from
# more processes (one more than the cores: 212-261 events/s against 207-262) at more CPU an
# event. At most 8 by default: each process pools its own database connections (2 to
# SCRM_DB_POOL_MAX), and 8 x 10 stays inside PostgreSQL's default 100 beside the web server's;
# a larger host sets it (and its connection budget) itself. ``--concurrency`` on the command
# line overrides it. The cores this process may run on (a CPU set): a container's CPU quota is
# not seen here.
CELERY_WORKER_CONCURRENCY = int(
    os.environ.get("SCRM_WORKER_CONCURRENCY", min(2 * (len(os.sched_getaffinity(0)) or 1), 8))
)
if CELERY_WORKER_CONCURRENCY < 1:
    raise ImproperlyConfigured("SCRM_WORKER_CONCURRENCY must be 1 or more.")
# On shutdown the worker finishes what is running or due for at most this long.
SCRM_WORKER_STOP_SECONDS = float(os.environ.get("SCRM_WORKER_STOP_SECONDS", 10))
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# Deliveries to the platform (agents' replies, decisions, alert channels) on a queue of their
# own: a worker started without -Q consumes every queue named here, taking from each in turn, so
# a reply never waits behind a backlog of webhooks and backfills (the soak measured replies
# waiting 3 minutes in one FIFO queue). The periodic jobs celery beat sends (the sweeps, below)
# have a third, "periodic", so an SLA sweep or an audit seal does not wait behind that backlog
# (only for a free worker process), and each expires after two periods, at least a minute
# (scrm/celery.py tick_expiry): a tick not started by then (the worker down) is dropped, as the
# next is already sent, instead of piling up to run back to back. Workers started with -Q
# should cover all three between them (compose: "celery,periodic" on processes, "outbox" on
# threads); one naming "celery" but not "periodic" consumes it anyway, with a warning
# (scrm/celery.py).
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = (Queue("celery"), Queue("outbox"), Queue("periodic"))
# A worker takes from its queues in priority order, not in turn: "outbox", then "periodic", then
# "celery" (scrm/celery.py orders them so, whatever -Q says). Taken in turn, a reply waited
# behind every other task's webhook batch, minutes under a backlog of 50-event batches.
if REDIS_URL:  # the broker is Redis (CELERY_BROKER_URL above)
    CELERY_BROKER_TRANSPORT_OPTIONS = {"queue_order_strategy": "priority"}
CELERY_TASK_ROUTES = {"inbox.tasks.deliver_outbox_action": {"queue": "outbox"}}
# How long the web server's first webhook of a batch waits for others before their processing
# task is queued (inbox/tasks.py WEBHOOK_LINGER): a task carries about rate x linger events, its
# fixed cost paid once (at 100 deliveries/s, 10 ms made tasks of one or two and the workers fell
# behind; docs/performance.md, issue 18). A full batch (50) goes at once. Lower for less lag at
# low rates, higher for fewer tasks.
SCRM_WEBHOOK_LINGER_SECONDS = float(os.environ.get("SCRM_WEBHOOK_LINGER_SECONDS", 0.05))
# The same while the workers are behind (five tasks a worker process, at least 20, wait in their
# main queue, read at most once a second; until fewer than half as many do): a batch's task
# would wait there anyway, so it gathers up to 50 events instead of about five and the workers
# catch up faster (docs/performance.md, issue 18).
SCRM_WEBHOOK_LINGER_BEHIND_SECONDS = float(
    os.environ.get("SCRM_WEBHOOK_LINGER_BEHIND_SECONDS", 0.5)
)
# A shop's stream whose backfill task was lost (its worker killed) is queued again after this
# long; one still queued or running is never queued twice (inbox/tasks.py:backfill_all_shops).
SCRM_BACKFILL_QUEUED_SECONDS = float(os.environ.get("SCRM_BACKFILL_QUEUED_SECONDS", 600))
# A stream whose backfills keep finding nothing missing (the webhooks deliver everything) is
# read less often: twice the tick's period after each quiet run, up to this long; a run that
# finds something, fails or is cut short brings it back to every tick. It bounds how late a
# message whose webhook was lost is found once a shop has been quiet (docs/architecture.md).
SCRM_BACKFILL_QUIET_MAX_SECONDS = float(os.environ.get("SCRM_BACKFILL_QUIET_MAX_SECONDS", 300))
# Periodic jobs: run by `celery beat` in services mode and by scrm.scheduler in embedded mode.
# Each entry: task name -> seconds between runs. Apps add theirs here.
SCRM_PERIODIC_TASKS: dict[str, float] = {
    "inbox.tasks.backfill_all_shops": float(os.environ.get("SCRM_BACKFILL_SECONDS", 60)),
    "inbox.tasks.sweep_outbox": float(os.environ.get("SCRM_DELIVERY_SWEEP_SECONDS", 30)),
    "inbox.tasks.reprocess_stale_webhooks": 60.0,
    "inbox.tasks.wake_snoozed_conversations": 60.0,
}
# A worker delivering an outbox action (a reply, a mark-read, ...) holds it this long; a crashed
# worker's action is retried after it.
SCRM_DELIVERY_LEASE_SECONDS = int(os.environ.get("SCRM_DELIVERY_LEASE_SECONDS", 120))
# The sweep queues an outbox action again once it is this late for its recorded next attempt
# (see inbox/services/outbox.py outbox_stuck): worst case after a dead worker, the longest retry
# countdown (64 s) + this + the sweep period.
SCRM_DELIVERY_SWEEP_GRACE_SECONDS = float(os.environ.get("SCRM_DELIVERY_SWEEP_GRACE_SECONDS", 15))
# The stale-webhook sweep queues an event whose task was lost at most once this long
# (inbox/services/webhooks.py webhook_events_stale_claim).
SCRM_WEBHOOK_REQUEUE_SECONDS = int(os.environ.get("SCRM_WEBHOOK_REQUEUE_SECONDS", 600))
SCRM_RUN_SCHEDULER = env_bool("SCRM_RUN_SCHEDULER", default=not SERVICES_MODE)
# Orders read through Get Order Detail are kept this long before the next need reads them
# again (inbox/services/orders.py): open orders (unpaid, awaiting shipment, in transit, ...)
# change; settled ones (completed, cancelled) hardly do, and are kept the second, longer time.
SCRM_ORDER_FRESH_SECONDS = int(os.environ.get("SCRM_ORDER_FRESH_SECONDS", 300))
SCRM_ORDER_SETTLED_FRESH_SECONDS = int(os.environ.get("SCRM_ORDER_SETTLED_FRESH_SECONDS", 86400))

# The one queue orders conversations and after-sales cases by when the answer is due
# (inbox/selectors/queue.py): a conversation's due time is its waiting time plus this target
# (a stand-in until the SLA issue gives conversations their own due time); a case the platform
# gave no seller deadline is due this long after the buyer asked.
SCRM_CHAT_REPLY_TARGET_MINUTES = int(os.environ.get("SCRM_CHAT_REPLY_TARGET_MINUTES", 720))
SCRM_CASE_DEFAULT_DEADLINE_HOURS = int(os.environ.get("SCRM_CASE_DEFAULT_DEADLINE_HOURS", 24))

# Where people reach this server (links in alerts sent by e-mail and webhooks): SCRM_PUBLIC_URL,
# set under "platforms" below.
# Outgoing webhooks (alert channels) call only https URLs of public addresses (scrm/outbound.py);
# hosts named here (comma-separated names or IPs, e.g. "127.0.0.1,localhost" for a local demo
# receiver) skip both checks.
SCRM_OUTBOUND_ALLOW_HOSTS: list[str] = [
    host.strip().lower()
    for host in os.environ.get("SCRM_OUTBOUND_ALLOW_HOSTS", "").split(",")
    if host.strip()
]

# --- auth ----------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# django-axes first: it refuses a locked-out account or address before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend whose read of the signed-in person brings their membership
    # (scrm/auth.py); sessions naming Django's own move to it on their next request.
    "scrm.auth.ModelBackend",
]

# --- sessions, tokens, sign-in and proxies (docs/security.md, docs/configuration.md) ------------
# How many reverse proxies in front of the app append to X-Forwarded-For. 0: the socket's
# address is the client (X-Forwarded-For ignored, as anyone can send it); N: the N-th address
# from the right. DRF's throttles, the sign-in lockout and audit records all use this one rule
# (scrm.signin.client_ip); `manage.py serve` never lets Uvicorn rewrite the address itself.
SCRM_TRUSTED_PROXY_COUNT = int(os.environ.get("SCRM_TRUSTED_PROXY_COUNT", 0))
if SCRM_TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("SCRM_TRUSTED_PROXY_COUNT must be 0 or more.")
# API tokens: lifetime of a new token (days), and how often its "last used" time is written.
SCRM_API_TOKEN_DAYS = int(os.environ.get("SCRM_API_TOKEN_DAYS", 90))
SCRM_API_TOKEN_MAX_DAYS = int(os.environ.get("SCRM_API_TOKEN_MAX_DAYS", 365))
SCRM_API_TOKEN_TOUCH_SECONDS = int(os.environ.get("SCRM_API_TOKEN_TOUCH_SECONDS", 60))
# Invitations (the People page): how long a link works. E-mail goes through Django's backend:
# SMTP at SCRM_EMAIL_HOST; with no host set, none is sent (the admin passes the link on).
SCRM_INVITATION_DAYS = int(os.environ.get("SCRM_INVITATION_DAYS", 7))
if SCRM_INVITATION_DAYS < 1:
    raise ImproperlyConfigured("SCRM_INVITATION_DAYS must be 1 or more.")
EMAIL_BACKEND = os.environ.get("SCRM_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("SCRM_EMAIL_HOST", "")
EMAIL_PORT = int(os.environ.get("SCRM_EMAIL_PORT", 587))
EMAIL_HOST_USER = os.environ.get("SCRM_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("SCRM_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = env_bool("SCRM_EMAIL_TLS", default=True)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = os.environ.get("SCRM_EMAIL_FROM", "SCRM inbox <no-reply@localhost>")
# Sign-in lockout: an account is locked after this many failed sign-ins (from any address) and
# an address after SCRM_SIGNIN_ADDRESS_FAILURE_LIMIT (over all names; higher, as an office shares
# one address), each for SCRM_SIGNIN_COOLOFF_MINUTES after its last failure.
SCRM_SIGNIN_FAILURE_LIMIT = int(os.environ.get("SCRM_SIGNIN_FAILURE_LIMIT", 5))
SCRM_SIGNIN_ADDRESS_FAILURE_LIMIT = int(os.environ.get("SCRM_SIGNIN_ADDRESS_FAILURE_LIMIT", 30))
SCRM_SIGNIN_COOLOFF_MINUTES = float(os.environ.get("SCRM_SIGNIN_COOLOFF_MINUTES", 15))
if min(SCRM_SIGNIN_FAILURE_LIMIT, SCRM_SIGNIN_ADDRESS_FAILURE_LIMIT) < 1:
    raise ImproperlyConfigured("The sign-in failure limits must be at least 1.")
AXES_ENABLED = env_bool("SCRM_SIGNIN_LOCKOUT", default=True)
AXES_HANDLER = "scrm.signin.LockoutHandler"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # LockoutHandler reads them in this order
AXES_FAILURE_LIMIT = SCRM_SIGNIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=SCRM_SIGNIN_COOLOFF_MINUTES)
AXES_CLIENT_IP_CALLABLE = "scrm.signin.client_ip"
# Axes keeps a keyed hash of the name tried, never the text (it may be a mistyped password).
AXES_USERNAME_CALLABLE = "scrm.signin.username_key"
AXES_LOCKOUT_CALLABLE = "scrm.signin.lockout_response"
# Successful sign-ins are in the audit log already; axes' own access log would keep every
# address and browser string for ever.
AXES_DISABLE_ACCESS_LOG = True
# A success does not clear the address's failures (one valid account must not reset them).
AXES_RESET_ON_SUCCESS = False
AXES_VERBOSE = False
# Two-factor sign-in (TOTP): the name authenticator apps show; a pending sign-in waiting for its
# code is forgotten after this many seconds.
OTP_TOTP_ISSUER = os.environ.get("SCRM_TOTP_ISSUER", "SCRM inbox")
SCRM_TWO_FACTOR_PENDING_SECONDS = int(os.environ.get("SCRM_TWO_FACTOR_PENDING_SECONDS", 300))
# The operators' security log (monitoring.SecurityEvent) keeps this many days; older rows are
# dropped hourly (a spray of unknown names must not grow the table for ever).
SCRM_SECURITY_LOG_DAYS = int(os.environ.get("SCRM_SECURITY_LOG_DAYS", 90))
SCRM_PERIODIC_TASKS["monitoring.tasks.prune_security_events"] = 3600.0
# The SLA tracker: alerts whose threshold has come, and each shop's end-of-day digest.
SCRM_PERIODIC_TASKS["monitoring.tasks.sla_sweep"] = 60.0
SCRM_PERIODIC_TASKS["monitoring.tasks.sla_digest"] = 60.0
# The shop-score metrics: the daily rollup of the days whose facts changed (docs/insights.md).
SCRM_PERIODIC_TASKS["monitoring.tasks.metrics_rollup"] = 60.0
SCRM_PERIODIC_TASKS["monitoring.tasks.metrics_platform_performance"] = 6 * 3600.0
# Customer profiles: remind the owners of follow-ups that came due (docs/customers.md).
SCRM_PERIODIC_TASKS["inbox.tasks.follow_ups_remind"] = 60.0
# After-sales rules (docs/after-sales-rules.md): the requests a lost task left unseen.
SCRM_PERIODIC_TASKS["inbox.services.rules.tasks.after_sales_rules_catch_up"] = 120.0
# The problem log (docs/problem-log.md): trend alert rules, and each shop's weekly e-mail.
SCRM_PERIODIC_TASKS["monitoring.problems.tasks.problem_trends"] = 3600.0
SCRM_PERIODIC_TASKS["monitoring.problems.tasks.problem_weekly_mails"] = 3600.0
# The audit chain (docs/audit.md): HMAC keys "kid:base64[,...]", the first signs, all verify;
# empty: one key derived from SECRET_KEY. The sweep seals the rows writers committed (they
# publish no task: monitoring/audit_chain/sealer.py); its interval is a row's usual wait.
SCRM_AUDIT_KEYS = os.environ.get("SCRM_AUDIT_KEYS", "")
SCRM_PERIODIC_TASKS["monitoring.tasks.audit_seal_sweep"] = 5.0

# --- i18n and time -------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- static --------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "scrm" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# WhiteNoise warns on a missing folder; the image's collectstatic fills it in production.
with contextlib.suppress(OSError):
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# A template naming a file that collectstatic did not see falls back to the plain name instead of
# failing the page (an error page that crashes is worse than an unhashed URL).
WHITENOISE_MANIFEST_STRICT = False
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "media/"
# Shared materials (quick replies): images follow TikTok's 10 MB upload limit.
SCRM_MATERIAL_IMAGE_MAX_BYTES = int(os.environ.get("SCRM_MATERIAL_IMAGE_MAX_BYTES", 10 * 1024**2))
SCRM_MATERIAL_FILE_MAX_BYTES = int(os.environ.get("SCRM_MATERIAL_FILE_MAX_BYTES", 20 * 1024**2))
# The quick-reply picker and render read each organisation's library from memory (see
# templates_app/library/): a change through the app is seen at once; usage counts ("most used
# first") and writes outside the app are read again at most this many seconds later.
SCRM_QUICK_REPLY_SYNC_SECONDS = float(os.environ.get("SCRM_QUICK_REPLY_SYNC_SECONDS", 30))
# How many quick replies (over all organisations) one process keeps in memory at most; the
# libraries used least recently are dropped first (about 7 KB a reply with short bodies in two
# languages, measured: 20,000 is ~150 MB).
SCRM_QUICK_REPLY_CACHE_ENTRIES = int(os.environ.get("SCRM_QUICK_REPLY_CACHE_ENTRIES", 20_000))
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024**2
# Bodies larger than this are refused with 413 before any parsing.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("SCRM_MAX_BODY_BYTES", 2 * 1024 * 1024))

# --- REST API ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "inbox.auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "scrm.api.CursorPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "scrm.api.exception_handler",
    # DRF's parsers, with JSON nested too deep a 400 rather than a RecursionError.
    "DEFAULT_PARSER_CLASSES": [
        "scrm.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {"auth": os.environ.get("SCRM_AUTH_THROTTLE", "20/min")},
    # The throttles' client address: X-Forwarded-For only through the trusted proxies (0: the
    # socket's address; DRF's default None would take the header whole, letting a client pick).
    "NUM_PROXIES": SCRM_TRUSTED_PROXY_COUNT,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "SCRM inbox API",
    "DESCRIPTION": "Multi-shop customer-service inbox. Errors: "
    '{"error": {"code", "message", "details"}}.',
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Vendored by drf-spectacular-sidecar (pinned): /api/docs/ names no outside host.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Two "kind" choice sets (a material's, an after-sales case's): each named for what it is.
    "ENUM_NAME_OVERRIDES": {
        "MaterialKindEnum": "templates_app.models.MaterialKind",
        "CaseKindEnum": "inbox.models.aftersales.CaseKind",
        # a queue row's type and an SLA alert's subject: one name for the one choice set
        "SubjectTypeEnum": ["conversation", "case"],
        # what the sensitive-word monitor does to a send (a match's, a screening's, a violation's)
        "SendActionEnum": ["block", "mask", "flag"],
        # a customer field's kind (the organisation's own profile fields)
        "CustomerFieldKindEnum": ["text", "number", "date", "choice", "yes_no"],
        # after-sales rules: a compensation's kind; a decision's verb, also a rule's decision
        "CompensationKindEnum": ["coupon", "partial_refund", "resend"],
        "VerbEnum": ["approve", "reject"],
    },
}

# --- security (production) -----------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the page's JavaScript reads it to send X-CSRFToken
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", 31536000))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", default=True)
    # Behind a TLS-terminating proxy that sets X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- browser hygiene (docs/ui.md "Content-Security-Policy" and "Buyer images") -------------
# Outside image hosts a buyer's avatar or image message may be drawn from: "*.host" is any
# subdomain of host, "host" that host only; https only. The demo simulator's own URL
# (SCRM_PUBLIC_URL/simulator/...) is allowed too while the simulator is enabled.
SCRM_IMAGE_HOSTS = env_list(
    "SCRM_IMAGE_HOSTS",
    "*.ibyteimg.com,*.byteimg.com,*.tiktokcdn.com,*.tiktokcdn-us.com,*.tiktokcdn-eu.com",
)
# Where browsers send CSP violation reports (a URL); unset: no reports.
SCRM_CSP_REPORT_URI = os.environ.get("SCRM_CSP_REPORT_URI", "")
# Browser features no page of ours uses, switched off for them and anything they embed.
SCRM_PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), "
    "magnetometer=(), microphone=(), midi=(), payment=(), usb=(), xr-spatial-tracking=()"
)

# --- logging: never personal data (see docs/configuration.md) --------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("SCRM_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # httpx logs every request URL at INFO; platform URLs carry signatures and shop ciphers.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        # Django logs request bodies' context on errors; keep its own loggers at WARNING.
        "django.request": {"level": "ERROR"},
    },
}

# --- platforms -----------------------------------------------------------------------------
# The simulator of the TikTok Shop API is mounted under /simulator/tiktok/ when enabled (the
# embedded default); the connector then talks to it over real HTTP instead of TikTok's hosts.
SCRM_SIMULATOR_ENABLED = env_bool("SCRM_SIMULATOR", default=DEBUG or not SERVICES_MODE)
# Where people (and, in the embedded mode, the connector calling the simulator) reach this
# server; also the links in alerts sent by e-mail and webhooks (a worker has no request to take
# the address from). Unset, it follows the port this server is served on (PORT, which
# ``manage.py serve --port`` sets too), so a demo on another port still gets its simulator's
# webhooks and API calls.
SCRM_PUBLIC_URL = os.environ.get(
    "SCRM_PUBLIC_URL", f"http://127.0.0.1:{os.environ.get('PORT') or '8000'}"
).rstrip("/")
_TIKTOK_DEFAULT_API = (
    SCRM_PUBLIC_URL + "/simulator/tiktok"
    if SCRM_SIMULATOR_ENABLED
    else "https://open-api.tiktokglobalshop.com"
)
_TIKTOK_DEFAULT_AUTH = (
    SCRM_PUBLIC_URL + "/simulator/tiktok"
    if SCRM_SIMULATOR_ENABLED
    else "https://auth.tiktok-shops.com"
)
TIKTOK_API_BASE = os.environ.get("TIKTOK_API_BASE", _TIKTOK_DEFAULT_API)
# In-call retry rules of the connector (fields of scrm/http.py RetryRules).
TIKTOK_RETRY: dict[str, float] = {}
# Timeouts of every outgoing HTTP call (scrm/http.py): connect, and read/write/pool.
SCRM_HTTP_CONNECT_TIMEOUT_SECONDS = float(os.environ.get("SCRM_HTTP_CONNECT_TIMEOUT_SECONDS", 3))
SCRM_HTTP_TIMEOUT_SECONDS = float(os.environ.get("SCRM_HTTP_TIMEOUT_SECONDS", 10))
TIKTOK_AUTH_BASE = os.environ.get("TIKTOK_AUTH_BASE", _TIKTOK_DEFAULT_AUTH)
