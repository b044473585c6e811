"""Ony: a kill switch for autonomous coding agents.

This file stays free of imports on purpose: ``import ony.connector`` must work
with the Python standard library alone. The Celery app is loaded from
``ony.apps.OnyConfig.ready()`` instead of here.
"""
