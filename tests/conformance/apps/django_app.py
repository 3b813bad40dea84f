"""A tiny one-file Django project for the conformance suite; run it under ``ddtrace-run``.

Routes: ``/`` and ``/probe/NAME`` (plain pages), ``/api/items`` (a JSON POST, for API Security) and ``/login``
(a POST of username/password through django.contrib.auth, for user activity tracking).
It migrates a SQLite file ($CONFORMANCE_DB), creates one user, and serves 127.0.0.1:$CONFORMANCE_PORT
with the standard library's WSGI server; it stops after $CONFORMANCE_MAX_SECONDS.
"""

import json
import os
import sys
import threading

import django
from django.conf import settings

USERNAME, PASSWORD = "conformance-user", "conformance-pass-1"

settings.configure(
    DEBUG=False,
    SECRET_KEY="conformance-not-a-secret",
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=[
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "django.contrib.sessions",
    ],
    MIDDLEWARE=[
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
    ],
    DATABASES={
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("CONFORMANCE_DB", ":memory:"),
        }
    },
    PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],  # fast, test only
    USE_TZ=True,
)
django.setup()

from django.contrib import auth  # noqa: E402  (after settings)
from django.http import HttpResponse, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402


def index(request):
    return HttpResponse("ok\n")


def probe(request, name):
    return HttpResponse(f"probe {name} ok\n")


@csrf_exempt
def items(request):
    try:
        payload = json.loads(request.body or b"{}")
    except ValueError:
        payload = {}
    return JsonResponse({"received": sorted(payload)})


@csrf_exempt
def login(request):
    # auth.authenticate / auth.login looked up at call time: ddtrace wraps them in place.
    user = auth.authenticate(
        request, username=request.POST.get("username"), password=request.POST.get("password")
    )
    if user is None:
        return HttpResponse("bad credentials\n", status=401)
    auth.login(request, user)
    return HttpResponse("welcome\n")


urlpatterns = [
    path("", index),
    path("probe/<str:name>", probe),
    path("api/items", items),
    path("login", login),
]


def main():
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application

    call_command("migrate", verbosity=0, interactive=False)
    if not User.objects.filter(username=USERNAME).exists():
        User.objects.create_user(USERNAME, password=PASSWORD)

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    limit = float(os.environ.get("CONFORMANCE_MAX_SECONDS", "120"))
    timer = threading.Timer(limit, os._exit, args=(3,))
    timer.daemon = True
    timer.start()
    server = make_server(
        "127.0.0.1",
        int(os.environ["CONFORMANCE_PORT"]),
        get_wsgi_application(),
        handler_class=Quiet,
    )
    sys.stderr.write("conformance django app ready\n")
    server.serve_forever()


if __name__ == "__main__":
    main()
