"""The Django app: ``INSTALLED_APPS += ["appsec_guard.contrib.django"]``.

Its AppConfig (:mod:`.apps`) runs the guard in ``ready()`` with Django as the framework and
``settings.APPSEC_GUARD`` as the policy, and registers the findings as system checks.
"""

import django

if django.VERSION < (3, 2):
    # Django before 3.2 does not find the AppConfig of apps.py by itself; without this, an
    # app on Django 2.2 (or 3.0, 3.1, which user tracking does not cover) would install the
    # guard and never run it. Django 3.2+ finds it, and warns if this is set.
    default_app_config = "appsec_guard.contrib.django.apps.AppSecGuardConfig"
