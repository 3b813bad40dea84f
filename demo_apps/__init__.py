"""Demo apps guarded by appsec-guard, and named deployment scenarios to run them in.

``python -m demo_apps.run SCENARIO [--strict]`` (see README, "Demos").
"""
