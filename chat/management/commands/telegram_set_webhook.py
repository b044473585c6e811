from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from chat import telegram
from chat.errors import ChatError


class Command(BaseCommand):
    help = "Tell Telegram to post the bot's updates to this server, with the webhook secret."

    def handle(self, *args, **options):
        if not telegram.configured():
            raise CommandError("Set TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET first.")
        url = settings.ONY_PUBLIC_URL + reverse("chat:telegram-webhook")
        try:
            telegram.set_webhook(url)
        except ChatError as exc:
            raise CommandError(f"Telegram refused: {exc}") from None
        self.stdout.write(f"Telegram will post updates to {url}")
