from django.contrib import admin
from django.urls import path

from chat import pages, views

app_name = "chat"

urlpatterns = [
    path("slack/interactions", views.slack_interactions, name="slack-interactions"),
    path("telegram/webhook", views.telegram_webhook, name="telegram-webhook"),
    path("accounts/", admin.site.admin_view(pages.accounts), name="accounts"),
]
