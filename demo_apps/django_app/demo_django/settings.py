"""A tiny Django project guarded the way the README says: the guard's app in INSTALLED_APPS.

The guard's policy comes from the environment here (APPSEC_GUARD_MODE, APPSEC_GUARD_REQUIRE),
so that one project runs every scenario; a real project would write it in APPSEC_GUARD below,
which wins over the environment.
"""

import sys

import structlog

# The app's own logging: structlog, one JSON object a line on stdout. The guard logs through
# it because it is configured before the guard runs (in the guard app's ready()).
structlog.configure(
    processors=[
        structlog.processors.add_log_level,
        structlog.processors.JSONRenderer(sort_keys=True),
    ],
    logger_factory=structlog.PrintLoggerFactory(sys.stdout),
)

SECRET_KEY = "demo-only-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "demo_django.urls"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "appsec_guard.contrib.django",
]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

# e.g. {"mode": "strict", "require": ["threat_protection"], "silence": ["AG303"]}
APPSEC_GUARD: dict = {}
