from __future__ import annotations

from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts import views as account_views

api_patterns = [
    path("", include("accounts.api_urls")),
    path("", include("audit.api_urls")),
    path("", include("cameras.api_urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="home", permanent=False)),
    path("accueil/", account_views.home, name="home"),
    path("comptes/", include("accounts.urls")),
    path("audit/", include("audit.urls")),
    path("cameras/", include("cameras.urls")),
    path("api/", include(api_patterns)),
    path("i18n/", include("django.conf.urls.i18n")),
]
