from django.apps import AppConfig


class TelephonyConfig(AppConfig):
    name = "telephony"

    def ready(self) -> None:
        # Registering: the system check, the receivers of handoffs' signals, and
        # the calls section of each handoff's dashboard page.
        from handoffs import progress, sections
        from telephony import checks, receivers, selectors  # noqa: F401

        sections.register(
            sections.Section(
                "Calls", "admin/telephony/handoff_calls.html", selectors.handoff_section
            )
        )
        progress.register(progress.Channel("phone", selectors.phone_progress))
