"""Django settings: everything comes from `clientele.config` (environment read there, once)."""

from __future__ import annotations

from pathlib import Path

import dj_database_url

from clientele.config import settings as clientele_settings

config = clientele_settings()

SECRET_KEY = config.secret_key
DEBUG = config.debug
#: The till's identify and basket calls answered in front of Django (`loyalty.api_hot_calls`): off
#: with CLIENTELE_HOT_CALLS=false, every call then goes through Django.
CLIENTELE_HOT_CALLS = config.hot_calls
#: Identify's till context (top categories, last purchase, what goes with it): off with
#: CLIENTELE_TILL_CONTEXT=false (identify then answers as before it).
CLIENTELE_TILL_CONTEXT = config.till_context
ALLOWED_HOSTS = ["*"] if config.environment == "development" else ["localhost", "127.0.0.1"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",  # its Swagger UI files are served from here, never from a CDN
    "simple_history",  # earning rules' versions (docs/decisions/0004-earning-rule-versions.md)
    "auditlog",  # who changed members, consents, rules, tiers, offers, keys (decision 0068)
    "clientele.catalog",
    "clientele.members",
    "clientele.loyalty",
    "clientele.offers",
    "clientele.service",
    "clientele.backoffice",
    "clientele.campaigns",
    "clientele.identity",
    "clientele.privacy",
    "clientele.portal",
    "clientele.care",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files (the admin's styles, the API docs, the charts) served by the app itself, from
    # the installed packages: nothing to collect before `granian` serves (decision 0027).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "clientele.site.middleware.RefuseControlCharacters",  # PostgreSQL cannot store a NUL (decision 0104)
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "clientele.privacy.middleware.ChangeLogActor",  # the change log's actor: the logged-in user (decision 0068)
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "clientele.site.urls"
WSGI_APPLICATION = "clientele.site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

if config.database_url:
    DATABASES = {"default": dj_database_url.parse(config.database_url, conn_max_age=60)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # The till's hot statements are prepared once per connection by `loyalty.libpq`, so they
        # skip PostgreSQL's planner (the planning of a checkout's joins cost more than running
        # them). psycopg prepares none itself (prepare_threshold None): after every rollback (a
        # refused checkout) it deallocates all the session's prepared statements, those included;
        # `libpq.rows` goes through Django's cursor when psycopg is set to prepare.
        DATABASES["default"]["OPTIONS"] = {"server_side_binding": True, "prepare_threshold": None}
else:
    config.database_path.parent.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(config.database_path),
            "OPTIONS": {
                # IMMEDIATE: a write transaction takes the lock when it starts, so two tills
                # never both read a balance and then fail to upgrade to a write lock.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            # a file, not Django's in-memory default: concurrent tills in the tests wait on the
            # write lock as they would in production instead of failing at once
            "TEST": {"NAME": str(config.home.resolve() / "test-clientele.sqlite3")},
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = str((config.home / "static").resolve())
Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)  # whitenoise looks there for collected files
WHITENOISE_USE_FINDERS = True  # serve from each app's static/ folder; `collectstatic` is optional
WHITENOISE_AUTOREFRESH = DEBUG
if config.environment == "production":
    # HTTPS only, as `python -m django check --deploy` asks (a test runs it): TLS ends at the proxy,
    # which says so in X-Forwarded-Proto; cookies never travel in clear; browsers remember HTTPS.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 31_536_000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
LOGIN_URL = "/admin/login/"
LOGIN_REDIRECT_URL = "/backoffice/"
