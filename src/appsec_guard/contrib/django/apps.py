"""The guard's Django AppConfig."""

from __future__ import annotations

from django.apps import AppConfig
from django.core.exceptions import ImproperlyConfigured

from ...errors import GuardError


class AppSecGuardConfig(AppConfig):  # type: ignore[misc]
    name = "appsec_guard.contrib.django"
    label = "appsec_guard"
    verbose_name = "appsec-guard"

    def ready(self) -> None:
        from django.conf import settings
        from django.core import checks as django_checks

        from ... import session
        from . import checks

        conf = getattr(settings, "APPSEC_GUARD", None)  # not a dict: the policy says so (AG700)
        # SILENCED_SYSTEM_CHECKS silences the guard's ids in its logs and strict mode too,
        # added to the resolved silence (it does not hide APPSEC_GUARD_SILENCE).
        try:
            django_silenced = tuple(
                str(i)
                for i in getattr(settings, "SILENCED_SYSTEM_CHECKS", ())
                if str(i).startswith("AG")
            )
        except TypeError:  # not a list: Django's own checks report it
            django_silenced = ()
        try:
            checks.REPORT = session.run(
                "django",
                settings=conf,
                settings_label="settings.APPSEC_GUARD",
                extra_silence=django_silenced,
                framework_hint=session.framework_version("django"),
            )
        except GuardError as exc:
            raise ImproperlyConfigured(str(exc)) from exc
        django_checks.register(checks.guard_findings, "appsec_guard")
