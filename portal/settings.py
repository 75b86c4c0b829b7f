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

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")  # optional; real environment wins

VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

# Embedded mode (the default) is DEBUG: a laptop or a training box. Production sets
# DEBUG=false and must then provide SECRET_KEY and FIELD_ENCRYPTION_KEY itself.
DEBUG = env.bool("DEBUG", default=True)


def _dev_secret(name: str) -> str:
    """A random secret generated once per checkout, kept under var/ (git ignores it)."""
    path = VAR_DIR / name
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
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
    "onboarding",
    "readings",
    "spark_events",
    "climkit_pull",
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
    "django_htmx.middleware.HtmxMiddleware",
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
    CELERY_BROKER_URL = "filesystem://localhost/"
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
    "prune-api-calls": {
        "task": "onboarding.sync.tasks.prune_api_calls",
        "schedule": timedelta(hours=6),
    },
    "pull-climkit": {
        "task": "climkit_pull.tasks.pull_climkit",
        "schedule": timedelta(minutes=env.float("CLIMKIT_PULL_MINUTES", default=15.0)),
        # A run still going when the next is due: the next one is dropped, not queued.
        "options": {"expires": 60 * env.float("CLIMKIT_PULL_MINUTES", default=15.0)},
    },
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

PROVIDER_TIMEOUT_SECONDS = env.float("PROVIDER_TIMEOUT_SECONDS", default=30.0)
PROVIDER_CONNECT_TIMEOUT_SECONDS = env.float("PROVIDER_CONNECT_TIMEOUT_SECONDS", default=5.0)
# Climkit allows 1 request/s for the whole deployment (providers/ratelimit.py): a caller
# that would wait longer than this for its turn gets a TransientError and backs off.
CLIMKIT_MAX_WAIT_SECONDS = env.float("CLIMKIT_MAX_WAIT_SECONDS", default=30.0)
# Added to Climkit's 1 s between calls, for jitter between our turn and their arrival.
CLIMKIT_RATE_MARGIN_MS = env.int("CLIMKIT_RATE_MARGIN_MS", default=30)
# The Climkit pull (climkit_pull/): validated data too (meter_data) besides the raw
# indices; days fetched per call; how far back a meter's first pull reaches; after how
# many hours an empty range counts as empty for good (the cursor moves over it).
CLIMKIT_PULL_VALIDATED = env.bool("CLIMKIT_PULL_VALIDATED", default=False)
CLIMKIT_PULL_CHUNK_DAYS = env.int("CLIMKIT_PULL_CHUNK_DAYS", default=7)
CLIMKIT_PULL_INITIAL_DAYS = env.float("CLIMKIT_PULL_INITIAL_DAYS", default=1.0)
CLIMKIT_PULL_LATE_HOURS = env.float("CLIMKIT_PULL_LATE_HOURS", default=48.0)
# Zählerfreunde's spec shows reading timestamps in seconds, another page in ms.
ZAEHLERFREUNDE_TIMESTAMP_UNIT = env.str("ZAEHLERFREUNDE_TIMESTAMP_UNIT", default="seconds")

# --- The outbox -----------------------------------------------------------------------
SYNC_MAX_ATTEMPTS = env.int("SYNC_MAX_ATTEMPTS", default=10)
SYNC_BACKOFF_BASE_SECONDS = env.float("SYNC_BACKOFF_BASE_SECONDS", default=10.0)
SYNC_BACKOFF_CAP_SECONDS = env.float("SYNC_BACKOFF_CAP_SECONDS", default=6 * 3600.0)
# A row in flight longer than this is presumed lost with its worker and re-claimed.
SYNC_CLAIM_TIMEOUT_SECONDS = env.float("SYNC_CLAIM_TIMEOUT_SECONDS", default=300.0)
# A pending row queued longer ago than this is queued again by the sweep.
SYNC_REQUEUE_AFTER_SECONDS = env.float("SYNC_REQUEUE_AFTER_SECONDS", default=600.0)
# A unit waiting for its building goes as soon as the building is synced; this is only
# the safety net for when that hand-over was lost.
SYNC_DEPENDENCY_WAIT_SECONDS = env.float("SYNC_DEPENDENCY_WAIT_SECONDS", default=300.0)
API_CALL_RETENTION_DAYS = env.int("API_CALL_RETENTION_DAYS", default=30)

# `import_building` refuses larger files (about 20,000 units a file at 5 MB).
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=5 * 1024 * 1024)

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
# Readings per forwarded batch (one POST to Zählerfreunde, one per OBIS code to zevvy).
READINGS_FORWARD_BATCH = env.int("READINGS_FORWARD_BATCH", default=500)
# A forwarding run sends batches for at most this long, then lets other devices go first.
READINGS_FORWARD_RUN_SECONDS = env.float("READINGS_FORWARD_RUN_SECONDS", default=20.0)
# How OBIS codes go to Zählerfreunde: "short" (C.D.E, "1.8.0", as its guide's example)
# or "full" (A-B:C.D.E*F, "1-0:1.8.0*255"; its spec's pattern accepts both).
ZAEHLERFREUNDE_OBIS_FORMAT = env.str("ZAEHLERFREUNDE_OBIS_FORMAT", default="short")

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
# The portal's own sign-in (onboarding/views/auth.py); the admin keeps its own.
LOGIN_URL = "pages:login"
LOGIN_REDIRECT_URL = "pages:dashboard"
LOGOUT_REDIRECT_URL = "pages:login"
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Europe/Zurich")
USE_I18N = True
USE_TZ = True

# --- Production security (check --deploy is clean with DEBUG=false) --------------------
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# Per platform: <NAME>_BASE_URL, <NAME>_CLIENT_ID, <NAME>_CLIENT_SECRET, and the options
# PROVIDER_OPTIONS declares, each read from <NAME>_<OPTION>. An unset base URL means
# "talk to the embedded sandbox" (providers/registry.py resolves it, and fills empty
# options from the platform's sandbox defaults).
PROVIDER_OPTIONS: dict[str, dict[str, str]] = {
    # accessRoleId sent with every invite (GET /access-roles lists them); empty = none.
    "zaehlerfreunde": {"access_role_id": ""},
    # smart-me: whichever auth is configured (providers/smartme/client.py); "auth" forces
    # one of basic, apikey, oauth. The guide's token path; NOTES.md: the platform's sample
    # uses /oauth/token. A full URL works too.
    "smartme": {
        "auth": "",
        "username": "",
        "password": "",
        "api_key": "",
        "token_path": "/api/oauth/token/",
        "token_auth_method": "client_secret_basic",
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
