from django.apps import AppConfig


class LifecycleConfig(AppConfig):
    """Data lifecycle: retention and organization exports (docs/data.md).

    Erasing a member is an organization's change (``ony.services.erase_member``);
    the apps above it forget the member through ``ony.signals.member_leaving``.
    """

    name = "lifecycle"
