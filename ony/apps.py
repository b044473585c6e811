from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class OnyConfig(AppConfig):
    default = True  # this module also holds the admin's config
    name = "ony"
    verbose_name = "Organizations and people"

    def ready(self) -> None:
        # The Celery app is imported here rather than in ony/__init__.py, which
        # must stay import-free for the standard-library connector. ready() runs
        # in the web process and in the Celery worker alike.
        from django.core.signals import request_finished
        from django.db.models.signals import pre_delete

        from ony import celery, checks, logs  # noqa: F401
        from ony.api import schema  # noqa: F401  (OpenAPI authentication extensions)
        from ony.models import User
        from ony.services import refuse_deleting_a_member

        pre_delete.connect(refuse_deleting_a_member, sender=User)
        request_finished.connect(logs.forget_request_id)

        # Every installed app's tasks module, now rather than when a worker
        # starts: services enqueue tasks by their registered name (ony.queue).
        celery.app.autodiscover_tasks(force=True)


class OnyAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin, with Ony's OTP-protected, organization-scoped site."""

    default = False  # installed by its dotted path; OnyConfig is this module's default

    default_site = "ony.admin_base.OnyAdminSite"
