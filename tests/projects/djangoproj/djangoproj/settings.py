"""A small real Django project guarded by appsec-guard. The tests vary the guard's settings
through TEST_APPSEC_GUARD (JSON) and TEST_SILENCED (comma-separated)."""

import json
import os

import structlog_json  # noqa: F401  (the app's own structlog configuration)

SECRET_KEY = "test-only-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "djangoproj.urls"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "appsec_guard.contrib.django",
]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

APPSEC_GUARD = json.loads(os.environ.get("TEST_APPSEC_GUARD", "{}"))
SILENCED_SYSTEM_CHECKS = [s for s in os.environ.get("TEST_SILENCED", "").split(",") if s]
