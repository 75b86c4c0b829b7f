"""Settings for the partner-onboarding portal.

One module, configured by environment variables alone (django-environ). Every value has
an embedded default that runs on a laptop: SQLite, a filesystem Celery broker under
var/, console e-mail, the five platforms served by their embedded sandboxes. Production
sets DEBUG=false, SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL, REDIS_URL, EMAIL_URL,
FIELD_ENCRYPTION_KEY and, per platform, <NAME>_BASE_URL / _CLIENT_ID / _CLIENT_SECRET.
"""

import base64
import hashlib
import secrets
from datetime import timedelta
from pathlib import Path

import environ
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from portal import test_slots
from portal.secret_files import write_secret

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")  # optional; real environment wins

test_slots.apply(default_var_dir=str(BASE_DIR / "var"))  # parallel tests only
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

# Embedded mode (the default) is DEBUG: a laptop or a training box. Production sets
# DEBUG=false and must then provide SECRET_KEY and FIELD_ENCRYPTION_KEY itself.
DEBUG = env.bool("DEBUG", default=True)


def _dev_secret(name: str) -> str:
    """A random secret generated once per checkout, kept under var/ (git ignores it)."""
    path = VAR_DIR / name
    write_secret(path, secrets.token_urlsafe(50))
    return path.read_text().strip()


if DEBUG:
    SECRET_KEY = env.str("SECRET_KEY", default="") or _dev_secret("dev-secret-key")
else:
    SECRET_KEY = env.str("SECRET_KEY")  # required: raises ImproperlyConfigured if unset

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    # The sign-in throttle (onboarding/signin_throttle.py): tables axes_accessattempt,
    # axes_accesslog, axes_accessfailurelog.
    "axes",
    "onboarding",
    "onboarding.readings",
    "providers.spark.events",
    "providers.climkit.pull",
    "onboarding.operations",
    # Sandboxes' tables exist everywhere (migrations stay linear); whether their URLs
    # are served is SERVE_SANDBOXES.
    "providers.sandbox_kit",
    "providers.zaehlerfreunde.sandbox",
    "providers.smartme.sandbox",
    "providers.climkit.sandbox",
    "providers.spark.sandbox",
    "providers.zevvy.sandbox",
]

MIDDLEWARE = [
    # First: every log line of the request carries its id (onboarding/operations/logs.py).
    "onboarding.operations.logs.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # German or English, from the browser or the switcher (set_language).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Content-Security-Policy (django-csp, CONTENT_SECURITY_POLICY below).
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'portal.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web server, worker and beat are separate processes writing one file: WAL lets
    # readers run beside a writer, IMMEDIATE takes the write lock up front so two
    # writers queue (busy timeout) instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory, so that a Celery worker started by the tests shares it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-portal.sqlite3")}
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: broker, cache -------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")

if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery ---------------------------------------------------------------------------
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # acks_late: an unacked message comes back after this long if its worker vanished.
    # The outbox row, not the broker, is the source of truth, so this only bounds
    # how soon a lost message is redelivered; the beat sweep covers it anyway.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    # A broker that needs no server: kombu's filesystem transport under var/.
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    # kombu's filesystem transport, with each message written whole (portal/broker.py).
    from portal.broker import ALIAS as _FILESYSTEM_BROKER

    CELERY_BROKER_URL = f"{_FILESYSTEM_BROKER}://localhost/"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        # kombu polls the folder; its 1 s default would cap a worker at a task a second.
        "polling_interval": 0.05,
        "store_processed": False,
    }
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=CELERY_BROKER_URL)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# A few messages ahead per worker process: the next push starts the moment one ends
# (a polling broker would otherwise sleep between tasks). Losing them with a killed
# worker costs nothing: the rows, not the messages, say what is due.
CELERY_WORKER_PREFETCH_MULTIPLIER = env.int("CELERY_WORKER_PREFETCH_MULTIPLIER", default=4)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery's Django fix-up closes the database connection around every task unless told
# to reuse it; we reuse it and let Django's own rules (CONN_MAX_AGE, health checks)
# decide when to close, exactly as for a web request (onboarding/sync/tasks.py).
CELERY_DB_REUSE_MAX = 1_000_000
# When the broker is down while staff save, publishing gives up quickly: the outbox
# row is committed and the beat sweep enqueues it once the broker is back.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": env.int("CELERY_PUBLISH_MAX_RETRIES", default=2),
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "sweep-outbox": {
        "task": "onboarding.sync.tasks.sweep",
        "schedule": env.float("SYNC_SWEEP_INTERVAL_SECONDS", default=60.0),
    },
    "refresh-catalogues": {
        "task": "onboarding.catalogue.tasks.refresh_catalogues",
        "schedule": timedelta(minutes=env.float("CATALOGUE_REFRESH_MINUTES", default=15.0)),
    },
    "forward-readings": {
        "task": "readings.tasks.sweep",
        "schedule": env.float("READINGS_SWEEP_INTERVAL_SECONDS", default=60.0),
    },
    "prune-unmatched-readings": {
        "task": "readings.tasks.prune_unmatched",
        "schedule": timedelta(hours=6),
    },
    "prune-api-calls": {
        "task": "onboarding.sync.tasks.prune_api_calls",
        "schedule": timedelta(hours=6),
    },
    "forget-import-previews": {
        "task": "onboarding.page_tasks.forget_expired_import_previews",
        "schedule": timedelta(minutes=10),
    },
    "pull-climkit": {
        "task": "climkit_pull.tasks.pull_climkit",
        "schedule": timedelta(minutes=env.float("CLIMKIT_PULL_MINUTES", default=15.0)),
        # A run still going when the next is due: the next one is dropped, not queued.
        "options": {"expires": 60 * env.float("CLIMKIT_PULL_MINUTES", default=15.0)},
    },
    # Spark events a missed delivery held (GET /events), stored once like a delivery.
    "spark-events-catch-up": {
        "task": "spark_events.tasks.catch_up",
        "schedule": timedelta(minutes=env.float("SPARK_EVENTS_CATCH_UP_MINUTES", default=15.0)),
        "options": {"expires": 60 * env.float("SPARK_EVENTS_CATCH_UP_MINUTES", default=15.0)},
    },
}

# Read only: what each push platform really holds, compared with ours (0 = never); a run
# still going when the next is due makes the next one expire, not queue.
RECONCILE_MINUTES = env.float("RECONCILE_MINUTES", default=60.0)
if RECONCILE_MINUTES > 0:
    CELERY_BEAT_SCHEDULE["compare-platforms"] = {
        "task": "onboarding.sync.reconcile.tasks.compare_platforms",
        "schedule": timedelta(minutes=RECONCILE_MINUTES),
        "options": {"expires": 60 * RECONCILE_MINUTES},
    }

# --- E-mail ---------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="portal@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Secrets at rest ------------------------------------------------------------------
# Fernet keys, newest first: the first encrypts, all decrypt (key rotation).
if DEBUG:
    _derived = base64.urlsafe_b64encode(hashlib.sha256(SECRET_KEY.encode()).digest()).decode()
    FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEY", default=[_derived])
else:
    FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEY")
FIELD_ENCRYPTION_KEYS = [key.strip() for key in FIELD_ENCRYPTION_KEYS if key.strip()]


def _key_problem(keys: list[str]) -> str:
    """Why these keys cannot encrypt, or "": checked at start-up (every process and
    `check --deploy` stop here), not at the first token stored. Never names a key."""
    make_one = (
        'Make one: python -c "from cryptography.fernet import Fernet; '
        'print(Fernet.generate_key().decode())"'
    )
    if not keys:
        return f"FIELD_ENCRYPTION_KEY is empty: it needs at least one Fernet key. {make_one}"
    for number, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            return (
                f"FIELD_ENCRYPTION_KEY: key {number} of {len(keys)} is not a Fernet key "
                f"(32 url-safe base64-encoded bytes). {make_one}"
            )
    return ""


if _problem := _key_problem(FIELD_ENCRYPTION_KEYS):
    raise ImproperlyConfigured(_problem)

# --- Partner platforms ----------------------------------------------------------------
ALL_PROVIDERS = ["zaehlerfreunde", "smartme", "climkit", "spark", "zevvy"]
PROVIDERS = env.list("PROVIDERS", default=ALL_PROVIDERS)

# Where the embedded sandboxes are served: this portal itself, under /sandbox/<name>/.
SANDBOX_BASE_URL = env.str("SANDBOX_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
# Credentials the embedded sandboxes accept (and the portal uses when no base URL is set).
SANDBOX_CLIENT_ID = env.str("SANDBOX_CLIENT_ID", default="portal-sandbox")
SANDBOX_CLIENT_SECRET = env.str("SANDBOX_CLIENT_SECRET", default="sandbox-secret")
# A sandbox answers after this many milliseconds, to stand in for a platform reached
# over the internet (0 = as fast as it can). Trainers and benchmarks set it.
SANDBOX_LATENCY_MS = env.int("SANDBOX_LATENCY_MS", default=0)
# The API key the smart-me sandbox accepts (`Authorization: ApiKey <key>`).
SANDBOX_SMARTME_API_KEY = env.str("SANDBOX_SMARTME_API_KEY", default="sandbox-api-key")
# The defaults above are public (this README): in production (DEBUG off) a sandbox
# served on purpose must not accept them, or anyone could take a token and use it. They
# are replaced by values nobody knows, and `check --deploy` asks for configured ones.
PUBLIC_SANDBOX_CREDENTIALS = {
    "SANDBOX_CLIENT_ID": "portal-sandbox",
    "SANDBOX_CLIENT_SECRET": "sandbox-secret",
    "SANDBOX_SMARTME_API_KEY": "sandbox-api-key",
}
SANDBOX_CREDENTIALS_REFUSED = [
    name for name, public in PUBLIC_SANDBOX_CREDENTIALS.items()
    if not DEBUG and globals()[name] in ("", public)
]  # fmt: skip
for _name in SANDBOX_CREDENTIALS_REFUSED:
    globals()[_name] = "refused-" + secrets.token_urlsafe(32)
# Whether the Spark sandbox delivers webhooks to loopback and private addresses (the
# receiver on a laptop); otherwise only to public http(s) targets and this portal's own
# /webhooks/ (providers/sandbox_kit/targets.py).
SANDBOX_WEBHOOK_PRIVATE_TARGETS = env.bool("SANDBOX_WEBHOOK_PRIVATE_TARGETS", default=DEBUG)

PROVIDER_TIMEOUT_SECONDS = env.float("PROVIDER_TIMEOUT_SECONDS", default=30.0)
PROVIDER_CONNECT_TIMEOUT_SECONDS = env.float("PROVIDER_CONNECT_TIMEOUT_SECONDS", default=5.0)
# Climkit allows 1 request/s for the whole deployment (providers/ratelimit.py): a caller
# that would wait longer than this for its turn gets a TransientError and backs off.
CLIMKIT_MAX_WAIT_SECONDS = env.float("CLIMKIT_MAX_WAIT_SECONDS", default=30.0)
# Added to Climkit's 1 s between calls, for jitter between our turn and their arrival.
CLIMKIT_RATE_MARGIN_MS = env.int("CLIMKIT_RATE_MARGIN_MS", default=30)
# The Climkit pull (providers/climkit/pull/): validated data too (meter_data) besides the raw
# indices; days fetched per call; how far back a meter's first pull reaches; after how
# many hours an empty range counts as empty for good (the cursor moves over it).
CLIMKIT_PULL_VALIDATED = env.bool("CLIMKIT_PULL_VALIDATED", default=False)
CLIMKIT_PULL_CHUNK_DAYS = env.int("CLIMKIT_PULL_CHUNK_DAYS", default=7)
CLIMKIT_PULL_INITIAL_DAYS = env.float("CLIMKIT_PULL_INITIAL_DAYS", default=1.0)
CLIMKIT_PULL_LATE_HOURS = env.float("CLIMKIT_PULL_LATE_HOURS", default=48.0)
# Volue Spark: which API the portal speaks (providers/spark/, docs/spark.md). "current"
# is Volue's public spec, what a utility going live meets (ids ours, meters are
# locations); "guide" is the quickstart guide's form. The embedded sandbox follows it.
SPARK_API = env.str("SPARK_API", default="current")
# Charge reports: "reports" sends stateOfCharge in percent and batteryCapacity in kWh, as
# Spark's Reports page; "guide" a fraction and Wh, as the guide's example reads.
SPARK_REPORT_UNITS = env.str("SPARK_REPORT_UNITS", default="reports")
# At most this many pages of GET /events (newest first) per catch-up run.
SPARK_EVENTS_CATCH_UP_PAGES = env.int("SPARK_EVENTS_CATCH_UP_PAGES", default=20)
# Zählerfreunde's spec shows reading timestamps in seconds, another page in ms.
ZAEHLERFREUNDE_TIMESTAMP_UNIT = env.str("ZAEHLERFREUNDE_TIMESTAMP_UNIT", default="seconds")

# --- The outbox -----------------------------------------------------------------------
SYNC_MAX_ATTEMPTS = env.int("SYNC_MAX_ATTEMPTS", default=10)
SYNC_BACKOFF_BASE_SECONDS = env.float("SYNC_BACKOFF_BASE_SECONDS", default=10.0)
SYNC_BACKOFF_CAP_SECONDS = env.float("SYNC_BACKOFF_CAP_SECONDS", default=6 * 3600.0)
# A row in flight longer than this is presumed lost with its worker and re-claimed.
# Checked at start-up to outlast the longest call (onboarding/sync/checks.py).
SYNC_CLAIM_TIMEOUT_SECONDS = env.float("SYNC_CLAIM_TIMEOUT_SECONDS", default=300.0)
# How long a worker waits for another one refreshing a platform's token.
SYNC_TOKEN_LOCK_WAIT_SECONDS = env.float("SYNC_TOKEN_LOCK_WAIT_SECONDS", default=60.0)
# System checks an operator silences knowingly, e.g. onboarding.E020 (comma-separated).
SILENCED_SYSTEM_CHECKS = env.list("SILENCED_SYSTEM_CHECKS", default=[])
# A pending row queued longer ago than this is queued again by the sweep.
SYNC_REQUEUE_AFTER_SECONDS = env.float("SYNC_REQUEUE_AFTER_SECONDS", default=600.0)
# A unit waiting for its building goes as soon as the building is synced; this is only
# the safety net for when that hand-over was lost.
SYNC_DEPENDENCY_WAIT_SECONDS = env.float("SYNC_DEPENDENCY_WAIT_SECONDS", default=300.0)
API_CALL_RETENTION_DAYS = env.int("API_CALL_RETENTION_DAYS", default=30)

# A refresh asked for in the admin within this many seconds of the last is refused:
# each spends the platform's budget (Climkit: 1 request/s for the whole deployment).
CATALOGUE_REFRESH_MIN_SECONDS = env.int("CATALOGUE_REFRESH_MIN_SECONDS", default=60)

# `import_building` refuses larger files (about 20,000 units a file at 5 MB).
# `make run` sets this for its worker: every catalogue is read once at start-up.
CATALOGUE_REFRESH_AT_START = env.bool("CATALOGUE_REFRESH_AT_START", default=False)
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=5 * 1024 * 1024)
# An import checked on the page and not confirmed is deleted after this (it holds
# tenants' names and e-mails).
IMPORT_PREVIEW_MINUTES = env.int("IMPORT_PREVIEW_MINUTES", default=60)

# --- Meter readings (readings/) -------------------------------------------------------
# smart-me's real-time webhook is POST /webhooks/smartme/<secret>/; empty = switched off
# (every request is a 404). Embedded mode makes one up under var/ (`smartme-webhook-secret`).
SMARTME_WEBHOOK_SECRET = env.str(
    "SMARTME_WEBHOOK_SECRET", default=_dev_secret("smartme-webhook-secret") if DEBUG else ""
)
# A delivery of 100 devices x 3 values is about 9 kB; larger bodies are refused (400).
SMARTME_WEBHOOK_MAX_BYTES = env.int("SMARTME_WEBHOOK_MAX_BYTES", default=1024 * 1024)
# Where a DateTime of kind LOCAL was measured (the guide is silent; smart-me is Swiss).
SMARTME_WEBHOOK_LOCAL_TIME_ZONE = env.str(
    "SMARTME_WEBHOOK_LOCAL_TIME_ZONE", default="Europe/Zurich"
)
# A reading further ahead of our clock than this is refused as implausible (400).
SMARTME_WEBHOOK_MAX_FUTURE_SECONDS = env.int("SMARTME_WEBHOOK_MAX_FUTURE_SECONDS", default=86400)
# Unmatched readings (onboarding/readings/unmatched.py): kept only for devices in the
# platform's catalogue, at most this many rows, for this many days.
READINGS_UNMATCHED_MAX_ROWS = env.int("READINGS_UNMATCHED_MAX_ROWS", default=1_000_000)
READINGS_UNMATCHED_RETENTION_DAYS = env.int("READINGS_UNMATCHED_RETENTION_DAYS", default=30)
# Readings per forwarded batch (one POST to Zählerfreunde, one per OBIS code to zevvy).
READINGS_FORWARD_BATCH = env.int("READINGS_FORWARD_BATCH", default=500)
# A forwarding run sends batches for at most this long, then lets other devices go first.
READINGS_FORWARD_RUN_SECONDS = env.float("READINGS_FORWARD_RUN_SECONDS", default=20.0)
# How OBIS codes go to Zählerfreunde: "short" (C.D.E, "1.8.0", as its guide's example)
# or "full" (A-B:C.D.E*F, "1-0:1.8.0*255"; its spec's pattern accepts both).
ZAEHLERFREUNDE_OBIS_FORMAT = env.str("ZAEHLERFREUNDE_OBIS_FORMAT", default="short")
# The unit zevvy is sent energy in: "kWh" (default) or "Wh"; power follows (kW or W).
# Its guide names none; readings are stored in kWh (onboarding/readings/units.py).
ZEVVY_ENERGY_UNIT = env.str("ZEVVY_ENERGY_UNIT", default="kWh")

# --- Static files ---------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Embedded mode serves from the apps' folders; production runs collectstatic into here.
STATIC_ROOT = Path(
    env.str("STATIC_ROOT", default=str(VAR_DIR / "static" if DEBUG else BASE_DIR / "staticfiles"))
)
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Auth, i18n -----------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Sign-in throttle (django-axes, onboarding/signin_throttle.py): the account and the
# address are locked separately after SIGNIN_FAILURE_LIMIT failures, on the portal's
# form and the admin's, until SIGNIN_COOLOFF_MINUTES after the last failure.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("SIGNIN_FAILURE_LIMIT", default=5)
SIGNIN_COOLOFF_MINUTES = env.int("SIGNIN_COOLOFF_MINUTES", default=15)
AXES_COOLOFF_TIME = timedelta(minutes=SIGNIN_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_LOCKOUT_CALLABLE = "onboarding.signin_throttle.locked_out"
AXES_CLIENT_IP_CALLABLE = "onboarding.signin_throttle.client_ip"
# axes announces itself at INFO on every start of every process (each manage.py command).
AXES_VERBOSE = False
# How many proxies in front of the portal append to X-Forwarded-For (0: none, the
# client's address is REMOTE_ADDR). Behind one proxy, set 1, or every client shares the
# proxy's address and one attacker locks everyone out.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# The portal's own sign-in (onboarding/views/auth.py); the admin keeps its own.
LOGIN_URL = "pages:login"
LOGIN_REDIRECT_URL = "pages:dashboard"
LOGOUT_REDIRECT_URL = "pages:login"
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
# One time format, localised, on the pages and in the admin (portal/formats/<lang>/).
FORMAT_MODULE_PATH = ["portal.formats"]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Europe/Zurich")
USE_I18N = True
USE_TZ = True

# --- Content-Security-Policy (django-csp) ------------------------------------------------
# Pages run only our own scripts (static/: htmx, vendored), load only our files, post
# only to us, and are framed by nobody. Inline styles stay allowed (templates and the
# admin use style attributes; no script runs from them); inline scripts, eval (htmx's
# allowEval is off: base.html) and other origins do not.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

# --- Production security (check --deploy is clean with DEBUG=false) --------------------
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # Probes and scrapers talk plain HTTP to the process itself, not through the proxy.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]

# The debug page masks the URLs that carry credentials too (portal/log_masking.py).
DEFAULT_EXCEPTION_REPORTER_FILTER = "portal.log_masking.DebugPageFilter"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    # No secret in any line (portal/log_masking.py): the smart-me webhook's path holds one.
    "filters": {"mask_secrets": {"()": "portal.log_masking.MaskSecrets"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["mask_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # Django's own handlers for these would bypass the filter: through ours only.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": [], "level": "INFO", "propagate": True},
    },
}

# --- The operator's view (onboarding/operations/, docs/operations.md) ------------------
# LOG_FORMAT=json: one JSON object a line, with the request id or the outbox row and
# platform; `plain` (today's lines) stays the default.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
from onboarding.operations.logs import extend as _extend_logging  # noqa: E402 (stdlib only)

_extend_logging(LOGGING, LOG_FORMAT)
if LOG_FORMAT == "json":
    # Celery would put its own plain handler on the root logger; keep ours.
    CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# prometheus_client's multiprocess mode: every gunicorn worker and Celery pool process
# of a host writes its counts here and /metrics adds them up. Set it in the environment
# of every process (prometheus_client reads it at import) and empty it at each start.
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default="")
if PROMETHEUS_MULTIPROC_DIR:
    Path(PROMETHEUS_MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)
# /metrics: a scraper with `Authorization: Bearer <METRICS_TOKEN>`, or from these networks.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128"])
# /readyz: a platform counts as down when every call since its last good answer has
# gone wrong for this long.
READYZ_PLATFORM_FAILING_SECONDS = env.float("READYZ_PLATFORM_FAILING_SECONDS", default=900.0)

# Per platform: <NAME>_BASE_URL, <NAME>_CLIENT_ID, <NAME>_CLIENT_SECRET, and the options
# PROVIDER_OPTIONS declares, each read from <NAME>_<OPTION>. An unset base URL means
# "talk to the embedded sandbox" (providers/registry.py resolves it, and fills empty
# options from the platform's sandbox defaults).
PROVIDER_OPTIONS: dict[str, dict[str, str]] = {
    # accessRoleId sent with every invite (GET /access-roles lists them); empty = none.
    "zaehlerfreunde": {"access_role_id": ""},
    # smart-me: whichever auth is configured (providers/smartme/client.py); "auth" forces
    # one of basic, apikey, oauth. Token path and scope default to the platform's own
    # sample (NOTES.md: /oauth/token, scope device.read; the guide: /api/oauth/token/).
    # A full URL works too; an empty scope asks for none.
    "smartme": {
        "auth": "",
        "username": "",
        "password": "",
        "api_key": "",
        "token_path": "/oauth/token",
        "token_auth_method": "client_secret_basic",
        "scope": "device.read",
    },
    # CLIMKIT_USERNAME / CLIMKIT_PASSWORD: the API user (not a Climkit portal account).
    "climkit": {"username": "", "password": ""},
    # SPARK_TOKEN_URL: the identity server, separate from the API. SPARK_PATHS: JSON
    # {"name": "/path/{id}"} replacing paths of providers/spark/client.py's PATHS, where
    # the API moved beyond the guide. SPARK_WEBHOOK_FIELDS: "current" or "guide" body.
    "spark": {"token_url": "", "paths": "", "webhook_fields": "current", "scope": ""},
    # Keycloak's endpoints (NOTES.md), e.g. https://iam.zevvy.org/realms/zevvy-prod
    # /protocol/openid-connect/token and .../auth/device; a prefix for the `reference`
    # that finds our devices again (providers/zevvy/sync.py).
    "zevvy": {
        "token_url": "",
        "device_authorization_url": "",
        "scope": "offline_access measurement register device",
        "reference_prefix": "portal-device-",
    },
}
PROVIDER_CONFIG = {
    name: {
        "base_url": env.str(f"{name.upper()}_BASE_URL", default=""),
        "client_id": env.str(f"{name.upper()}_CLIENT_ID", default=""),
        "client_secret": env.str(f"{name.upper()}_CLIENT_SECRET", default=""),
        "options": {
            option: env.str(f"{name.upper()}_{option.upper()}", default=default)
            for option, default in PROVIDER_OPTIONS[name].items()
        },
    }
    for name in ALL_PROVIDERS
}

# Serve the embedded sandboxes (/sandbox/<name>/). In embedded mode (DEBUG) they are on
# while any enabled platform has no base URL. In production never, unless an operator
# sets SERVE_SANDBOXES=true on purpose (a training deployment): a platform enabled
# without a base URL is then an error of `check --deploy` and `check_providers`, so real
# tenants' data never goes to a sandbox by accident.
SERVE_SANDBOXES = env.bool(
    "SERVE_SANDBOXES",
    default=DEBUG
    and any(not PROVIDER_CONFIG[name]["base_url"] for name in PROVIDERS if name in PROVIDER_CONFIG),
)
# Trainers and tests reach a sandbox's control endpoints (/sandbox/<name>/_sandbox/...)
# with a staff login or this token in the X-Sandbox-Token header; empty = staff only.
SANDBOX_CONTROL_TOKEN = env.str(
    "SANDBOX_CONTROL_TOKEN", default=_dev_secret("sandbox-control-token") if DEBUG else ""
)
