from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"

    def ready(self) -> None:
        # Registering: the receivers of handoffs' signals and the chat section
        # of each handoff's dashboard page.
        from chat import receivers, selectors  # noqa: F401
        from handoffs import progress, sections

        sections.register(
            sections.Section("Chat", "admin/chat/handoff_messages.html", selectors.handoff_section)
        )
        progress.register(progress.Channel("chat", selectors.chat_progress))
