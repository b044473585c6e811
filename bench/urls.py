from django.urls import include, path

from bench.views import BaselineApi

urlpatterns = [
    path("bench/baseline", BaselineApi.as_view()),
    path("", include("ony.urls")),
]
