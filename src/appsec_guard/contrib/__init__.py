"""Integrations with web frameworks. Each imports its framework only inside itself."""
