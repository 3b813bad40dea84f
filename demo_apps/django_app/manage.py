#!/usr/bin/env python
"""The demo Django project's manage.py (``manage.py runserver``, ``manage.py check``)."""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo_django.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
