"""CSU settings: one module, production differs only by environment variables.

Defaults run on a laptop: SQLite, files under ``var/``, Celery over kombu's filesystem
transport. Production sets DATABASE_URL, CELERY_BROKER_URL, the storage and the keys.
"""

from __future__ import annotations

import base64
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from csu.env import env_bool, env_int, env_list, env_str, local_secret
from csu.storage import s3_options

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("CSU_DATA_DIR", str(BASE_DIR / "var")) or "var").resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)
# Production refuses to invent secrets; the embedded default keeps them under var/secrets/.
PRODUCTION = env_bool("CSU_PRODUCTION", False)

SECRET_KEY = local_secret("SECRET_KEY", DATA_DIR, generate=not PRODUCTION)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
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
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "csu.urls"
WSGI_APPLICATION = "csu.wsgi.application"

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
        },
    },
]

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
    "CSU_OTP_REQUIRED_ROLES", ["operator", "supervisor", "opj", "magistrate", "admin", "dpo"]
)
OTP_TOTP_ISSUER = env_str("CSU_OTP_ISSUER", "CSU") or "CSU"

AXES_FAILURE_LIMIT = env_int("CSU_LOCKOUT_FAILURES", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("CSU_LOCKOUT_MINUTES", 15, minimum=1))
# Locked per account: locking per address would shut the whole control room (one NAT address)
# out after one agent's typos. Hence the silenced axes.W006 below.
AXES_LOCKOUT_PARAMETERS = ["username"]
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
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

# Habilitations: a training older than this denies access to images (0 = not enforced).
HABILITATION_TRAINING_VALIDITY_DAYS = env_int("CSU_TRAINING_VALIDITY_DAYS", 0, minimum=0)

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
# A requisition left undecided this many days expires and its holds are released.
EVIDENCE_DECISION_DAYS = env_int("CSU_REQUISITION_DECISION_DAYS", 30, minimum=1)
# Lifetime of a single-use download link, in hours.
EVIDENCE_LINK_HOURS = env_int("CSU_EXPORT_LINK_HOURS", 72, minimum=1)
# After the handover, the requisition stays open (holds kept) this many days, then closes.
EVIDENCE_HANDOVER_GRACE_DAYS = env_int("CSU_HANDOVER_GRACE_DAYS", 30, minimum=0)
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
STORAGES = {
    "default": {"BACKEND": "csu.storage.DurableFileSystemStorage"},
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

# --- API --------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "accounts.api_auth.ExpiringTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.api_auth.IsVerified"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "csu.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CSU API",
    "DESCRIPTION": "API du Centre de Supervision Urbain.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["accounts.api_auth.IsVerified"],
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI's files ship in a package: nothing is fetched from the internet.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a "status": name each choice set once (check --deploy warns otherwise).
    "ENUM_NAME_OVERRIDES": {
        "CameraStatusEnum": "cameras.models.CameraStatus",
        "HealthStatusEnum": "cameras.models.HealthStatus",
        "RequisitionStatusEnum": "evidence.models.Status",
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
# The public information notice (second level of the signs), for the reference city by default.
COMPLIANCE_NOTICE = {
    "controller": env_str("CSU_NOTICE_CONTROLLER", "Ville de Chambéry, représentée par son maire"),
    "controller_address": env_str(
        "CSU_NOTICE_CONTROLLER_ADDRESS", "Hôtel de ville, Place de l'Hôtel de Ville, 73000 Chambéry"
    ),
    "purposes": env_list(
        "CSU_NOTICE_PURPOSES",
        [
            "Protection des bâtiments et installations publics et de leurs abords",
            "Prévention des atteintes à la sécurité des personnes et des biens",
            "Régulation des flux de transport et constatation des infractions routières",
            "Prévention des risques naturels ou technologiques et secours aux personnes",
        ],
    ),
    "legal_basis": env_str(
        "CSU_NOTICE_LEGAL_BASIS",
        "Articles L251-1 et suivants du code de la sécurité intérieure ; autorisation "
        "préfectorale ; mission d'intérêt public (article 6.1.e du RGPD).",
    ),
    "recipients": env_str(
        "CSU_NOTICE_RECIPIENTS",
        "Agents habilités du centre de supervision urbain ; officiers de police judiciaire "
        "sur réquisition, sous le contrôle du procureur de la République.",
    ),
    "dpo_name": env_str("CSU_NOTICE_DPO_NAME", "Délégué à la protection des données"),
    "dpo_email": env_str("CSU_NOTICE_DPO_EMAIL", "dpo@mairie-chambery.fr"),
    "dpo_address": env_str(
        "CSU_NOTICE_DPO_ADDRESS",
        "Délégué à la protection des données, Hôtel de ville, BP 1105, 73011 Chambéry Cedex",
    ),
    "phone": env_str("CSU_NOTICE_PHONE", "04 79 60 20 20"),
}
COMPLIANCE_DPO_EMAIL = env_str("CSU_DPO_EMAIL", COMPLIANCE_NOTICE["dpo_email"])

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

# --- Logging: no secrets, no request bodies -----------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO") or "INFO"},
    "loggers": {"axes": {"level": "WARNING"}},
}
