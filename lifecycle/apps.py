from django.apps import AppConfig


class LifecycleConfig(AppConfig):
    """Data lifecycle: retention, organization export and member erasure (docs/data.md)."""

    name = "lifecycle"
