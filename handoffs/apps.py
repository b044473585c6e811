from django.apps import AppConfig


class HandoffsConfig(AppConfig):
    name = "handoffs"

    def ready(self) -> None:
        # Organizations (in ``ony``, below this app) check their risk overrides
        # against the taxonomy, which lives here.
        from handoffs.taxonomy import validate_overrides
        from ony.models.org import register_risk_override_check

        register_risk_override_check(validate_overrides)
