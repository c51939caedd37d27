"""Settings of the example shop: everything that differs between servers comes from the environment.

deploy-wizard writes STATIC_ROOT and MEDIA_ROOT to the app's env file, DATABASE_URL from the database step,
and whatever the recipe lists under app_server.env (ALLOWED_HOSTS, CSRF_TRUSTED_ORIGINS) and secret_env
(SECRET_KEY). A missing variable stops the app at import, so a release without its env never goes live.
"""

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = os.environ["SECRET_KEY"]
DEBUG = os.environ.get("DEBUG") == "1"
ALLOWED_HOSTS = os.environ["ALLOWED_HOSTS"].split(",")
CSRF_TRUSTED_ORIGINS = [origin for origin in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if origin]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# CSRF_COOKIE_SECURE is left at Django's default (off), so `manage.py check --deploy` warns (security.W016): the
# CSRF cookie may travel over plain HTTP. On a server without TLS that is what has to happen (a cookie marked
# secure never comes back over HTTP and every form would fail); behind TLS, set CSRF_COOKIE_SECURE = True and the
# warning goes away.

INSTALLED_APPS = ["django.contrib.staticfiles", "notes"]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
]
ROOT_URLCONF = "shop.urls"
WSGI_APPLICATION = "shop.wsgi.application"

_db = urlsplit(os.environ["DATABASE_URL"])
DATABASES = {"default": {
    "ENGINE": "django.db.backends.postgresql", "NAME": _db.path.lstrip("/"), "USER": unquote(_db.username or ""),
    "PASSWORD": unquote(_db.password or ""), "HOST": _db.hostname, "PORT": _db.port or 5432,
}}

STATIC_URL = "/static/"
STATIC_ROOT = os.environ["STATIC_ROOT"]
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = os.environ["MEDIA_ROOT"]

LOGGING = {"version": 1, "disable_existing_loggers": False,
           "handlers": {"console": {"class": "logging.StreamHandler"}},
           "root": {"handlers": ["console"], "level": "WARNING"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Django's default TIME_ZONE is America/Chicago, and Django sets the process's TZ to it: the app's log lines
# would say -0600 on a UTC server. Times are stored in UTC (USE_TZ) and logged in UTC, like the server's journal.
TIME_ZONE = "UTC"
USE_TZ = True
