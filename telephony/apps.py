from django.apps import AppConfig


class TelephonyConfig(AppConfig):
    name = "telephony"

    def ready(self) -> None:
        # Registering: the system check, and the receivers of handoffs' signals.
        from telephony import checks, receivers  # noqa: F401
