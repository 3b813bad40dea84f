"""The smallest Django project that boots: django.setup() with or without the guard's app.

BENCH_GUARD=1 adds ``appsec_guard.contrib.django`` to INSTALLED_APPS (benchmarks/boot.py).
"""

import os

SECRET_KEY = "benchmark-only-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["localhost"]
ROOT_URLCONF = None
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth"]
if os.environ.get("BENCH_GUARD") == "1":
    INSTALLED_APPS.append("appsec_guard.contrib.django")
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
