from django.http import JsonResponse

from appsec_guard import session


def index(request):
    # How many times the guard ran in this process: the tests prove requests run none of it.
    return JsonResponse({"hello": "django", "guard_runs": session.STATE.runs})
