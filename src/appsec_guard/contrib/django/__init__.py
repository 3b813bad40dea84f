"""The Django app: ``INSTALLED_APPS += ["appsec_guard.contrib.django"]``.

Its AppConfig (:mod:`.apps`) runs the guard in ``ready()`` with Django as the framework and
``settings.APPSEC_GUARD`` as the policy, and registers the findings as system checks.
"""
