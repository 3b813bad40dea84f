from django.http import JsonResponse

import appsec_guard


def index(request):
    """Say hello, with the guard's verdicts from boot (check() returns the cached report)."""
    report = appsec_guard.check()
    return JsonResponse(
        {
            "app": "django",
            "deployment": report.stack.deployment,
            "ok": report.ok,
            "capabilities": {v.capability: v.status.value for v in report.verdicts},
        }
    )
