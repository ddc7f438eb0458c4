"""CSU settings: one module, production differs only by environment variables.

Defaults run on a laptop: SQLite, files under ``var/``, Celery over kombu's filesystem
transport. Production sets DATABASE_URL, CELERY_BROKER_URL, the storage and the keys.
"""

from __future__ import annotations

import base64
import ipaddress
import re
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from audit import chain as _audit_chain
from csu.lib import maps as _maps
from csu.lib.env import data_dir, env_bool, env_int, env_list, env_str, local_secret
from csu.lib.storage import s3_options

BASE_DIR = Path(__file__).resolve().parent.parent
DEBUG = env_bool("DEBUG", False)
# Production refuses to invent secrets; the embedded default keeps them under var/secrets/.
PRODUCTION = env_bool("CSU_PRODUCTION", False)
# Created private (0700); a production start refuses one that others can enter, or that still
# holds var/secrets/ from a run outside production.
DATA_DIR = data_dir(
    env_str("CSU_DATA_DIR", str(BASE_DIR / "var")) or str(BASE_DIR / "var"), production=PRODUCTION
)

SECRET_KEY = local_secret("SECRET_KEY", DATA_DIR, generate=not PRODUCTION)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    # First: its runserver (start-up refusals) wins over whitenoise's and staticfiles'.
    "csu.apps.CsuConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "auditlog",
    "axes",
    "audit",
    "accounts",
    "cameras",
    "recordings",
    "evidence",
    "operations",
    "compliance",
    "live",
]

MIDDLEWARE = [
    "csu.security.TrustedProxyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csu.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "audit.middleware.RequestContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "csu.middleware.FrenchFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.SecondFactorMiddleware",
    "accounts.middleware.PasswordChangeMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "csu.urls"
WSGI_APPLICATION = "csu.wsgi.application"
ASGI_APPLICATION = "csu.asgi.application"

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
                "accounts.context_processors.navigation",
            ],
            # ``|paris``: times for people in Europe/Paris, with the offset when ambiguous.
            "builtins": ["csu.lib.times", "csu.lib.labels"],
        },
    },
]

# Every form puts the cursor on its first field in error after a failed submit.
FORM_RENDERER = "csu.lib.forms.FormRenderer"

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'csu.sqlite3'}"
try:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
except ValueError as exc:  # dj-database-url names the unknown scheme
    raise ImproperlyConfigured(f"DATABASE_URL is not a database URL: {exc}") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker, beat and recorders write at once: WAL lets readers go on, and IMMEDIATE
    # transactions make writers queue instead of failing with "database is locked".
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts, passwords, second factor, lockout ----------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# CNIL deliberation 2022-100: 12 characters mixing four kinds, or 14 of any kind.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "accounts.passwords.CnilComplexityValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Roles that must sign in with TOTP: those that touch images, evidence or who may see them.
OTP_REQUIRED_ROLES = env_list(
    "CSU_OTP_REQUIRED_ROLES",
    ["operator", "supervisor", "opj", "magistrate", "admin", "dpo", "police_station"],
)
OTP_TOTP_ISSUER = env_str("CSU_OTP_ISSUER", "CSU") or "CSU"

# Lockout (accounts/lockout.py): one account from one address after CSU_LOCKOUT_FAILURES, and
# one address across all accounts (password spraying) after CSU_LOCKOUT_IP_FAILURES, higher
# because a whole control room may share one address. Both lift after CSU_LOCKOUT_MINUTES, and
# failures during a lockout do not prolong it: nobody can lock a chosen account out for good.
AXES_FAILURE_LIMIT = env_int("CSU_LOCKOUT_FAILURES", 5, minimum=1)
LOCKOUT_IP_FAILURE_LIMIT = env_int("CSU_LOCKOUT_IP_FAILURES", 20, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("CSU_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_HANDLER = "accounts.lockout.LockoutHandler"
AXES_CLIENT_IP_CALLABLE = "accounts.lockout.client_address"
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.views.locked_out"
AXES_VERBOSE = False
AXES_ENABLE_ACCESS_FAILURE_LOG = False

SESSION_COOKIE_AGE = 60 * env_int("CSU_SESSION_IDLE_MINUTES", 30, minimum=1)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("CSU_SECURE_COOKIES", PRODUCTION)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# Training (CSI L255-1): without a training in force a person gets no image, whatever their
# habilitations say; a training lasts this many days (0 = never lapses, only its existence counts).
TRAINING_REQUIRED = env_bool("CSU_TRAINING_REQUIRED", True)
TRAINING_VALIDITY_DAYS = env_int("CSU_TRAINING_VALIDITY_DAYS", 3 * 365, minimum=0)
# Days before a training lapses when the person and the administrators are reminded, once each.
try:
    TRAINING_REMINDER_DAYS = sorted(
        {int(day) for day in env_list("CSU_TRAINING_REMINDER_DAYS", ["60", "30"])}, reverse=True
    )
except ValueError as error:
    raise ImproperlyConfigured(
        "CSU_TRAINING_REMINDER_DAYS: whole numbers of days, comma-separated"
    ) from error

# The commune that runs the CSU: the commune of the cameras and habilitations recorded without
# one, so that a single-commune installation needs no choice (an intercommunal CSU adds the
# others and its conventions on the communes' pages).
HOME_COMMUNE_NAME = env_str("CSU_COMMUNE_NAME", "Chambéry").strip()
HOME_COMMUNE_INSEE = env_str("CSU_COMMUNE_INSEE", "73065").strip().upper()
if not HOME_COMMUNE_NAME:
    raise ImproperlyConfigured("CSU_COMMUNE_NAME: the name of the commune that runs the CSU")
if not re.fullmatch(r"(?:\d{5}|2[AB]\d{3})", HOME_COMMUNE_INSEE):
    raise ImproperlyConfigured(
        "CSU_COMMUNE_INSEE: the commune's INSEE code, five characters (73065, or 2A004 in "
        f"Corsica), not {HOME_COMMUNE_INSEE!r}"
    )

# --- Audit ------------------------------------------------------------------------------------


def _new_ed25519_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


# Ed25519 private key (base64 of the 32 raw bytes) that signs the audit chain head.
AUDIT_SIGNING_KEY = local_secret(
    "CSU_AUDIT_SIGNING_KEY", DATA_DIR, generate=not PRODUCTION, factory=_new_ed25519_key
)


def _new_aes256_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


# AES-256 key (base64 of 32 bytes) sealing the cameras' stream credentials in the database.
CSU_STREAM_CREDENTIALS_KEY = local_secret(
    "CSU_STREAM_CREDENTIALS_KEY", DATA_DIR, generate=not PRODUCTION, factory=_new_aes256_key
)
try:
    if len(base64.b64decode(CSU_STREAM_CREDENTIALS_KEY, validate=True)) != 32:
        raise ValueError
except ValueError:
    raise ImproperlyConfigured(
        "CSU_STREAM_CREDENTIALS_KEY must be the base64 encoding of 32 random bytes"
    ) from None

# Camera health checks: seconds to reach a source, and seconds of images sampled per check.
CAMERA_CONNECT_TIMEOUT = env_int("CSU_CAMERA_CONNECT_TIMEOUT", 5, minimum=1)
CAMERA_SAMPLE_SECONDS = env_int("CSU_CAMERA_SAMPLE_SECONDS", 2, minimum=1)
# The health check's threads wait on the cameras, not the processor: a round sizes its pool to
# end within 20 s, up to this many (64 → 930 cameras in about 45 s; more cameras, more workers).
CAMERA_HEALTH_MAX_WORKERS = env_int("CSU_CAMERA_HEALTH_MAX_WORKERS", 64, minimum=1)
# Shortest retention a camera may be given (days): CSI L252-5 sets only the one-month maximum;
# below a week, footage of a weekend incident could be gone before its requisition arrives.
MIN_RETENTION_DAYS = env_int("CSU_MIN_RETENTION_DAYS", 7, minimum=1, maximum=30)
# Networks (CIDR, comma-separated) where camera sources may lie. Production refuses any network
# source outside them (and file:// sources); elsewhere they apply once set.
CAMERA_NETWORKS = env_list("CSU_CAMERA_NETWORKS", [])
for _cidr in CAMERA_NETWORKS:
    try:
        ipaddress.ip_network(_cidr)
    except ValueError as _exc:
        raise ImproperlyConfigured(
            f"CSU_CAMERA_NETWORKS: {_cidr!r} is not a network in CIDR form, such as "
            f"10.20.0.0/16 ({_exc})"
        ) from None

# --- Recordings -----------------------------------------------------------------------------
# The master key wraps the day keys; it lives outside the database and the media store.
RECORDINGS_MASTER_KEY = local_secret(
    "CSU_MASTER_KEY", DATA_DIR, generate=not PRODUCTION, factory=_new_aes256_key
)
# A recorder renews its lease on a camera; another takes the camera over once it lapses.
RECORDER_LEASE_SECONDS = env_int("CSU_RECORDER_LEASE_SECONDS", 30, minimum=5)
RECORDING_SEGMENT_SECONDS = env_int("CSU_SEGMENT_SECONDS", 60, minimum=2, maximum=600)
# Longest wait between two attempts to reach a camera that stopped answering: an outage of N
# seconds costs at most about N plus this much footage.
RECORDER_RETRY_MAX_SECONDS = env_int("CSU_RECORDER_RETRY_MAX_SECONDS", 3, minimum=1, maximum=60)
# Clock accuracy (the evidence value of every time the CSU states): the server's clock is
# checked every few minutes against this NTP server, or, when empty, through the system's own
# synchronization state (chrony, else the kernel's); each camera's clock is measured from its
# stream by its recorder.
NTP_SERVER = env_str("CSU_NTP_SERVER", "")
CLOCK_CHECK_MINUTES = env_int("CSU_CLOCK_CHECK_MINUTES", 10, minimum=1, maximum=1440)
CLOCK_MAX_OFFSET_MS = env_int("CSU_CLOCK_MAX_OFFSET_MS", 500, minimum=1, maximum=60_000)
CAMERA_MAX_DRIFT_MS = env_int("CSU_CAMERA_MAX_DRIFT_MS", 2000, minimum=100, maximum=600_000)
# During a rotation, the previous master key still opens keys not yet re-wrapped.
RECORDINGS_PREVIOUS_MASTER_KEY = env_str("CSU_PREVIOUS_MASTER_KEY") or ""
# Retention purge: segments destroyed per transaction, and how long a purge that stopped
# renewing its heartbeat (killed on SQLite) keeps others waiting before being taken over.
RECORDINGS_PURGE_BATCH = env_int("CSU_PURGE_BATCH", 2000, minimum=1, maximum=20000)
RECORDINGS_PURGE_STALE_MINUTES = env_int("CSU_PURGE_STALE_MINUTES", 10, minimum=1)
# Objects of the store that no index row names (a recorder killed between writing and
# indexing) are deleted once they are this many hours past their camera's retention.
RECORDINGS_ORPHAN_GRACE_HOURS = env_int("CSU_ORPHAN_GRACE_HOURS", 1, minimum=1, maximum=24)
# Playback: longest range watched at once, lifetime of a playback link, widest masked picture.
RECORDING_PLAYBACK_MAX_SECONDS = env_int("CSU_PLAYBACK_MAX_SECONDS", 3600, minimum=60)
RECORDING_PLAYBACK_TOKEN_SECONDS = env_int("CSU_PLAYBACK_TOKEN_SECONDS", 900, minimum=60)
RECORDING_PLAYBACK_MAX_WIDTH = env_int("CSU_PLAYBACK_MAX_WIDTH", 1280, minimum=160)
# Replay without a procedure ("levée de doute"): the last this many hours of a camera, with a
# written reason. 0 (the default) = never: recorded images are viewed only within a requisition
# or an access request.
RECORDING_REPLAY_OPERATIONAL_HOURS = env_int(
    "CSU_REPLAY_OPERATIONAL_HOURS", 0, minimum=0, maximum=72
)
# Key store: the key-encryption keys (wrapped by the master key) that wrap the day keys of one
# period each, kept out of the database so that destroying one reaches database backups too
# (recordings.keystore; with CSU_STORAGE=s3, the bucket's keystore/ prefix instead of a folder).
RECORDINGS_KEY_STORE_DIR = Path(env_str("CSU_KEY_STORE_DIR") or DATA_DIR / "keystore").resolve()
RECORDINGS_KEY_PERIOD_DAYS = env_int("CSU_KEY_PERIOD_DAYS", 1, minimum=1, maximum=31)
# A manual hold ends at most this many days after it is placed or renewed.
RECORDINGS_HOLD_MAX_DAYS = env_int("CSU_HOLD_MAX_DAYS", 30, minimum=1, maximum=365)

# --- Evidence (judicial requisitions and exports) ----------------------------------------------
# Ed25519 private key (base64 of the 32 raw bytes, or PEM) that signs export manifests.
EVIDENCE_SIGNING_KEY = local_secret(
    "CSU_EVIDENCE_SIGNING_KEY", DATA_DIR, generate=not PRODUCTION, factory=_new_ed25519_key
)
# Scanned requisition: largest file accepted.
EVIDENCE_ATTACHMENT_MAX_BYTES = 2**20 * env_int("CSU_REQUISITION_ATTACHMENT_MAX_MB", 20, minimum=1)
# Longest camera window one requisition line may ask for.
EVIDENCE_WINDOW_MAX_HOURS = env_int("CSU_REQUISITION_WINDOW_MAX_HOURS", 24, minimum=1)
# How long a hold placed on intake lasts at most (released earlier when the requisition ends).
EVIDENCE_HOLD_DAYS = env_int("CSU_REQUISITION_HOLD_DAYS", 365, minimum=30)
# A requisition left undecided this many days is escalated to the magistrates and the
# supervisors, then recalled to them every EVIDENCE_REMINDER_DAYS; its holds stay in force.
EVIDENCE_DECISION_DAYS = env_int("CSU_REQUISITION_DECISION_DAYS", 30, minimum=1)
EVIDENCE_REMINDER_DAYS = env_int("CSU_REQUISITION_REMINDER_DAYS", 7, minimum=1)
# The alarm queue (operations.alarms): an alarm whose cause has been gone this many minutes
# closes itself (a cause back before then is a new occurrence of the same alarm); an undecided
# requisition raises one this many days before its decision deadline; a queued extraction that
# has not started after this many minutes is stalled.
ALARM_CLEAR_MINUTES = env_int("CSU_ALARM_CLEAR_MINUTES", 5, minimum=0)
ALARM_REQUISITION_DAYS = env_int("CSU_ALARM_REQUISITION_DAYS", 3, minimum=0)
ALARM_EXPORT_QUEUED_MINUTES = env_int("CSU_ALARM_EXPORT_QUEUED_MINUTES", 30, minimum=1)
# Lifetime of a single-use download link, in hours.
EVIDENCE_LINK_HOURS = env_int("CSU_EXPORT_LINK_HOURS", 72, minimum=1)
# After the handover, the requisition stays open (holds kept) this many days, then closes.
EVIDENCE_HANDOVER_GRACE_DAYS = env_int("CSU_HANDOVER_GRACE_DAYS", 30, minimum=0)
# A package never downloaded is destroyed this many days after its last download authorization
# expired unused (or after it was prepared, when it was never released); prepared again at need.
EVIDENCE_UNCLAIMED_DAYS = env_int("CSU_EXPORT_UNCLAIMED_DAYS", 7, minimum=0)
# Re-encoding of masked clips (libx264): constant rate factor and preset.
EVIDENCE_ENCODE_CRF = env_int("CSU_EXPORT_CRF", 18, minimum=0, maximum=51)
# After a change of CSU_EVIDENCE_SIGNING_KEY: the fingerprints (SHA-256 of the public key, as
# the public page shows them) of former keys whose packages verify_export still accepts.
EVIDENCE_PREVIOUS_FINGERPRINTS = [
    item.lower() for item in env_list("CSU_EVIDENCE_PREVIOUS_FINGERPRINTS", [])
]
for _fingerprint in EVIDENCE_PREVIOUS_FINGERPRINTS:
    if len(_fingerprint) != 64 or set(_fingerprint) - set("0123456789abcdef"):
        raise ImproperlyConfigured(
            "CSU_EVIDENCE_PREVIOUS_FINGERPRINTS must list SHA-256 fingerprints (64 hexadecimal "
            f"digits), comma-separated, not {_fingerprint!r}"
        )

# Where a handover takes place, as the procès-verbal de remise names it.
EVIDENCE_HANDOVER_PLACE = env_str(
    "CSU_HANDOVER_PLACE", "Centre de supervision urbain, Hôtel de ville, 73000 Chambéry"
)
# The address of this application as people reach it (links in e-mails).
EVIDENCE_SITE_URL = env_str("CSU_SITE_URL", "http://127.0.0.1:8000")
# Mail server for the officers' notifications; none (no e-mail sent) when CSU_EMAIL_HOST is empty.
EMAIL_HOST = env_str("CSU_EMAIL_HOST", "")
EMAIL_PORT = env_int("CSU_EMAIL_PORT", 587, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("CSU_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = env_str("CSU_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = env_bool("CSU_EMAIL_TLS", True)
DEFAULT_FROM_EMAIL = env_str("CSU_EMAIL_FROM", "csu-ne-pas-repondre@mairie-chambery.fr")

# --- Internationalization -----------------------------------------------------------------------
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("Français")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Europe/Paris"
USE_TZ = True

# --- Static files and storage -------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("CSU_STATIC_ROOT") or DATA_DIR / "static")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env_str("CSU_MEDIA_ROOT") or DATA_DIR / "media")
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "csu.lib.storage.DurableFileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
# Segments, attachments and exports go through default_storage: this folder, or S3-compatible.
CSU_STORAGE = env_str("CSU_STORAGE", "filesystem") or "filesystem"
if CSU_STORAGE == "s3":
    STORAGES["default"] = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": s3_options()}
elif CSU_STORAGE != "filesystem":
    raise ImproperlyConfigured(f"CSU_STORAGE must be filesystem or s3, not {CSU_STORAGE!r}")

# --- Celery -----------------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or "filesystem://"
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = DATA_DIR / "celery" / "queue"
    _queue_dir.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(DATA_DIR / "celery" / "processed"),
        "control_folder": str(DATA_DIR / "celery" / "control"),
        "store_processed": False,
    }
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celery" / "beat-schedule")
# Beat opens its schedule file without creating the folder: made here whatever the broker, or a
# first start on Redis stops beat, and honcho every other process with it.
Path(CELERY_BEAT_SCHEDULE_FILENAME).parent.mkdir(parents=True, exist_ok=True)

# --- API --------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "accounts.api_auth.ExpiringTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.api_auth.IsVerified"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Views name their FilterSet (filterset_class); a bad filter value is a 400 naming it.
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "csu.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "API du centre de supervision urbain",
    "DESCRIPTION": (
        "L'API du centre de supervision urbain (CSU) : caméras, exploitation de la salle, "
        "réquisitions judiciaires, conformité et administration. Authentification par la "
        "session du site ou par un jeton (en-tête « Authorization: Token … », obtenu par "
        "POST /api/auth/token/). Les erreurs sont des objets JSON qui nomment le champ en "
        "cause ; les dates sont en UTC, au format ISO 8601."
    ),
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["accounts.api_auth.IsVerified"],
    "COMPONENT_SPLIT_REQUEST": True,
    # French summaries, descriptions and tags for every operation (csu/api_docs.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "csu.api_docs.french_documentation",
    ],
    # Swagger UI's files ship in a package: nothing is fetched from the internet.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a "status": name each choice set once (check --deploy warns otherwise).
    "ENUM_NAME_OVERRIDES": {
        "CameraStatusEnum": "cameras.models.CameraStatus",
        "HealthStatusEnum": "cameras.models.HealthStatus",
        "RequisitionStatusEnum": "evidence.models.Status",
        "RequisitionDecisionEnum": "evidence.models.Decision",
        "WindowDecisionEnum": "evidence.models.Window.Decision",
        "BreachDecisionEnum": "compliance.models.Breach.Decision",
        "BreachDecisionChoiceEnum": ["notify", "not_notify"],
        "AgreementStateEnum": "accounts.models.AgreementState",
        "AuthorizationPurposeEnum": "cameras.purposes.Purpose",
        "ViewerQualityEnum": "accounts.qualities.Quality",
        "AlarmKindEnum": "operations.models.AlarmKind",
        "AlarmPriorityEnum": "operations.models.AlarmPriority",
        "AlarmStateEnum": "operations.models.AlarmState",
    },
}
API_TOKEN_LIFETIME = timedelta(hours=env_int("CSU_API_TOKEN_HOURS", 12, minimum=1))

# --- Compliance: access requests, audit log retention, public notice ---------------------------
# RGPD art. 12.3: an access request is answered within one month; reminders start this many days
# before the deadline.
COMPLIANCE_ACCESS_REQUEST_REMINDER_DAYS = env_int("CSU_ACCESS_REQUEST_REMINDER_DAYS", 7, minimum=1)
# How long a hold placed for an access request lasts (the answer usually comes well before).
COMPLIANCE_ACCESS_REQUEST_HOLD_DAYS = env_int("CSU_ACCESS_REQUEST_HOLD_DAYS", 90, minimum=31)
# Audit log retention by action category (days): consultations one year, extractions, handovers
# and the rest three years.
AUDIT_RETENTION_DAYS = {
    "access": env_int("CSU_AUDIT_RETENTION_ACCESS_DAYS", 365, minimum=180),
    "auth": env_int("CSU_AUDIT_RETENTION_AUTH_DAYS", 365, minimum=180),
    "extraction": env_int("CSU_AUDIT_RETENTION_EXTRACTION_DAYS", 3 * 365, minimum=365),
    "handover": env_int("CSU_AUDIT_RETENTION_HANDOVER_DAYS", 3 * 365, minimum=365),
    "destruction": env_int("CSU_AUDIT_RETENTION_DESTRUCTION_DAYS", 3 * 365, minimum=365),
    "change": env_int("CSU_AUDIT_RETENTION_CHANGE_DAYS", 3 * 365, minimum=365),
    "system": env_int("CSU_AUDIT_RETENTION_SYSTEM_DAYS", 3 * 365, minimum=365),
}
# Retention schedule of the application's own records (audit.records), in days after each
# record's end; a record that a procedure in course needs is kept. Sources in
# docs/configuration.md.
RECORD_RETENTION_DAYS = {
    "signalements": env_int("CSU_SIGNALEMENT_RETENTION_DAYS", 3 * 365, minimum=365),
    "shifts": env_int("CSU_SHIFT_RETENTION_DAYS", 5 * 365, minimum=365),
    "requisitions": env_int("CSU_REQUISITION_RETENTION_DAYS", 6 * 365, minimum=365),
    "access_requests": env_int("CSU_ACCESS_REQUEST_RETENTION_DAYS", 3 * 365, minimum=365),
    "habilitations": env_int("CSU_HABILITATION_RETENTION_DAYS", 3 * 365, minimum=365),
    "sign_ins": env_int("CSU_SIGN_IN_LOG_RETENTION_DAYS", 365, minimum=180, maximum=365),
}
# The public information notice (second level of the signs), for the reference city by default.
_NOTICE_DPO_EMAIL = env_str("CSU_NOTICE_DPO_EMAIL", "dpo@mairie-chambery.fr")
COMPLIANCE_NOTICE = {
    "controller": env_str("CSU_NOTICE_CONTROLLER", "Ville de Chambéry, représentée par son maire"),
    "controller_address": env_str(
        "CSU_NOTICE_CONTROLLER_ADDRESS", "Hôtel de ville, Place de l'Hôtel de Ville, 73000 Chambéry"
    ),
    "legal_basis": env_str(
        "CSU_NOTICE_LEGAL_BASIS",
        "Articles L251-1 et suivants du code de la sécurité intérieure ; autorisation "
        "préfectorale ; loi Informatique et Libertés, titre III (articles 87 et suivants) : "
        "mission de prévention et de détection des infractions pénales et de protection contre "
        "les menaces pour la sécurité publique.",
    ),
    "dpo_name": env_str("CSU_NOTICE_DPO_NAME", "Délégué à la protection des données"),
    "dpo_email": _NOTICE_DPO_EMAIL,
    "dpo_address": env_str(
        "CSU_NOTICE_DPO_ADDRESS",
        "Délégué à la protection des données, Hôtel de ville, BP 1105, 73011 Chambéry Cedex",
    ),
    "phone": env_str("CSU_NOTICE_PHONE", "04 79 60 20 20"),
    # Where a filmed person complains (LIL art. 108 for the indirect exercise of the rights).
    "cnil_address": env_str(
        "CSU_NOTICE_CNIL_ADDRESS",
        "Commission nationale de l'informatique et des libertés, 3 place de Fontenoy, "
        "TSA 80715, 75334 Paris Cedex 07",
    ),
    "cnil_url": env_str("CSU_NOTICE_CNIL_URL", "https://www.cnil.fr/fr/plaintes"),
    # The commission départementale de vidéoprotection (CSI L251-4), which anyone may seize of
    # a difficulty with the system (CSI L253-5): it sits at the préfecture.
    "commission_address": env_str(
        "CSU_NOTICE_COMMISSION_ADDRESS",
        "Commission départementale de vidéoprotection de la Savoie, Préfecture de la Savoie, "
        "Château des ducs de Savoie, BP 1801, 73018 Chambéry Cedex",
    ),
    "commission_email": env_str("CSU_NOTICE_COMMISSION_EMAIL", ""),
}
COMPLIANCE_DPO_EMAIL = env_str("CSU_DPO_EMAIL", _NOTICE_DPO_EMAIL)
# The largest share of the frame (per cent) an access-request extract may keep sharp: the
# requester's silhouette, never the scene (third parties are protected, RGPD art. 15.4).
COMPLIANCE_EXTRACT_MAX_KEPT_PERCENT = env_int(
    "CSU_ACCESS_REQUEST_MAX_KEPT_PERCENT", 25, minimum=1, maximum=50
)
# The record of processing activities (RGPD art. 30, LIL art. 100): the controller, its address
# and the DPO come from COMPLIANCE_NOTICE; these name the processing and the Police nationale
# station that receives the images under the coordination agreement.
COMPLIANCE_RECORD = {
    "processing_name": env_str(
        "CSU_RECORD_PROCESSING_NAME",
        "Vidéoprotection de la voie publique et des bâtiments communaux",
    ),
    "police_station": env_str(
        "CSU_RECORD_POLICE_STATION",
        "Commissariat de police nationale de Chambéry (poste déporté, convention de "
        "coordination police municipale – forces de sécurité de l'État)",
    ),
}
# The impact assessment (RGPD art. 35.3.c) is reviewed at least this often (days since the
# current version); the DPO is also reminded at each new camera or authorization change.
COMPLIANCE_AIPD_REVIEW_DAYS = env_int("CSU_AIPD_REVIEW_DAYS", 365, minimum=30, maximum=3 * 365)
# The largest impact-assessment file accepted (MB): a document, not an archive of annexes.
COMPLIANCE_AIPD_MAX_BYTES = env_int("CSU_AIPD_MAX_MB", 20, minimum=1, maximum=200) * 2**20

# --- Security headers ---------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = env_bool("CSU_SSL_REDIRECT", PRODUCTION)
SECURE_HSTS_SECONDS = env_int("CSU_HSTS_SECONDS", 31536000 if PRODUCTION else 0, minimum=0)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if PRODUCTION else None
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("CSU_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("CSU_HSTS_PRELOAD", PRODUCTION)
# The container health check asks over plain HTTP from inside; every other path goes to HTTPS.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# Reverse proxies (addresses or networks) whose X-Forwarded-For names the real client, for the
# audit trail's "from where". Empty: REMOTE_ADDR is the client.
TRUSTED_PROXIES = env_list("CSU_TRUSTED_PROXIES", [])
# Pages load scripts, styles and images from this site only; no inline code, no frames.
CONTENT_SECURITY_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "media-src": ["'self'", "blob:"],
    "connect-src": ["'self'"],
    "font-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"

# --- Camera map: the city's tile (or WMTS) server; none: cameras on a plain background ---------
# A URL template with {z}, {x} and {y} (and optionally a leading {s} subdomain), e.g.
# https://tuiles.ville.example/{z}/{x}/{y}.png or a WMTS GetTile KVP template.
CSU_MAP_TILE_URL = (env_str("CSU_MAP_TILE_URL", "") or "").strip()
if CSU_MAP_TILE_URL:
    CSU_MAP_TILE_URL = _maps.tile_template("CSU_MAP_TILE_URL", CSU_MAP_TILE_URL)
CSU_MAP_TILE_ATTRIBUTION = (env_str("CSU_MAP_TILE_ATTRIBUTION", "") or "").strip()
CSU_MAP_TILE_MAX_ZOOM = env_int("CSU_MAP_TILE_MAX_ZOOM", 19, minimum=1, maximum=24)
if CSU_MAP_TILE_URL:
    # The browsers fetch the tiles from that host: images only, nothing else from it.
    CONTENT_SECURITY_POLICY["img-src"].append(
        _maps.tile_csp_source("CSU_MAP_TILE_URL", CSU_MAP_TILE_URL)
    )

# --- Logging: no secrets, no request bodies -----------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO") or "INFO"},
    "loggers": {"axes": {"level": "WARNING"}},
}

# --- Audit trail: pinned keys, anchors outside the database, the application's database role ----
# Public keys of the previous audit signing keys (hex or base64 of 32 bytes, or PEM blocks,
# comma-separated). With the current key's, they are the only keys verify_audit accepts.
AUDIT_PREVIOUS_PUBLIC_KEYS = env_str("CSU_AUDIT_PREVIOUS_PUBLIC_KEYS", "") or ""
_audit_chain.load_public_keys(AUDIT_PREVIOUS_PUBLIC_KEYS)  # a wrong value stops the start
# The signed chain head is written this often to an append-only place apart from the database:
# a folder (filesystem) or an S3 bucket with Object Lock (s3; follows CSU_STORAGE by default).
AUDIT_ANCHOR_MINUTES = env_int("CSU_AUDIT_ANCHOR_MINUTES", 10, minimum=1, maximum=1440)
AUDIT_ANCHOR_STORAGE = env_str("CSU_AUDIT_ANCHOR_STORAGE", CSU_STORAGE) or CSU_STORAGE
if AUDIT_ANCHOR_STORAGE not in ("filesystem", "s3"):
    raise ImproperlyConfigured(
        f"CSU_AUDIT_ANCHOR_STORAGE must be filesystem or s3, not {AUDIT_ANCHOR_STORAGE!r}"
    )
AUDIT_ANCHOR_DIR = Path(env_str("CSU_AUDIT_ANCHOR_DIR") or DATA_DIR / "audit-anchors")
AUDIT_ANCHOR_BUCKET = env_str("CSU_AUDIT_ANCHOR_BUCKET") or (
    f"{env_str('AWS_STORAGE_BUCKET_NAME') or 'csu'}-audit"
)
# Anchors in S3 are locked (COMPLIANCE mode) this many days: nobody may delete them before.
AUDIT_ANCHOR_RETENTION_DAYS = env_int("CSU_AUDIT_ANCHOR_RETENTION_DAYS", 400, minimum=1)
# Given to the migration step only (which connects as the owner of the tables): the URL of the
# application's own role, created or updated after migrating with INSERT and SELECT only on
# the audit tables (audit.database_roles).
APP_DATABASE_URL = env_str("CSU_APP_DATABASE_URL") or ""

# --- Live video (live/): pipelines under ASGI, one per watched camera and process -------------
# Tile picture: fitted in this box (never enlarged), at this rate, H.264 for the browsers.
CSU_LIVE_FPS = env_int("CSU_LIVE_FPS", 10, minimum=1, maximum=30)
CSU_LIVE_TILE_WIDTH = env_int("CSU_LIVE_TILE_WIDTH", 640, minimum=64, maximum=1920)
CSU_LIVE_TILE_HEIGHT = env_int("CSU_LIVE_TILE_HEIGHT", 360, minimum=64, maximum=1080)
# A camera's pipeline stops this long after its last viewer left.
CSU_LIVE_LINGER_SECONDS = env_int("CSU_LIVE_LINGER_SECONDS", 10, minimum=0, maximum=600)
# The habilitation and the sign-in of every viewer are checked again this often.
CSU_LIVE_RECHECK_SECONDS = env_int("CSU_LIVE_RECHECK_SECONDS", 2, minimum=1, maximum=60)
# The live processes' WebSocket addresses (ws:// or wss://, comma-separated); a camera goes to
# one of them by a stable hash of its code. Empty: the page's own host (one live process
# behind the same proxy).
CSU_LIVE_URLS = env_list("CSU_LIVE_URLS", [])
for _live_url in CSU_LIVE_URLS:
    if not _live_url.startswith(("ws://", "wss://")):
        raise ImproperlyConfigured(f"CSU_LIVE_URLS: {_live_url!r} must start with ws:// or wss://")
# Frames waiting for one viewer; beyond, that viewer's frames are dropped to the next key frame.
CSU_LIVE_VIEWER_QUEUE = 8
CSU_LIVE_MASK_REFRESH_SECONDS = 5
CSU_LIVE_RETRY_MAX_SECONDS = 5
# A viewing session not renewed for this long lost its live process: it ends at its last renewal.
CSU_LIVE_SESSION_LOST_SECONDS = 60
CSU_LIVE_TOUCH_SECONDS = 10
