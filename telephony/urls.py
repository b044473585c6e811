from django.urls import path, re_path

from telephony import views
from telephony.simulator import views as simulator

app_name = "telephony"

CODE = "<str:code>"
urlpatterns = [
    path(f"calls/{CODE}/answer", views.answer, name="answer"),
    path(f"calls/{CODE}/keys", views.keys, name="keys"),
    path(f"calls/{CODE}/silence", views.silence, name="silence"),
    path(f"calls/{CODE}/status", views.status, name="status"),
    path("softphone/", simulator.softphone, name="softphone"),
    path("simulator/phone/calls", simulator.phone_calls, name="phone-calls"),
    path(
        "simulator/phone/calls/<str:sid>/<str:action>", simulator.phone_action, name="phone-action"
    ),
    re_path(r"^simulator/(?P<path>2010-04-01/.*)$", simulator.provider_api, name="simulator-api"),
]
