from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path
from django.views.generic import RedirectView

from accounts import views as account_views
from csu import health
from csu.api_docs import DocsView, SchemaView

api_patterns: list[URLPattern | URLResolver] = [
    path("", include("accounts.api_urls")),
    path("", include("compliance.audit_api_urls")),
    path("", include("compliance.breach_api_urls")),
    path("", include("compliance.governance_api_urls")),
    path("", include("cameras.api_urls")),
    path("", include("evidence.api_urls")),
    path("", include("recordings.retention_api_urls")),
    path("", include("operations.api_urls")),
    path("", include("recordings.api_urls")),
    path("", include("live.api_urls")),
    # Both send a signed-out visitor to the sign-in page (an API client presents its token).
    path("schema/", SchemaView.as_view(), name="api-schema"),
    # The split view serves its script from a URL: the content security policy forbids inline.
    path("docs/", DocsView.as_view(url_name="api-schema"), name="api-docs"),
]

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="home", permanent=False)),
    path("accueil/", account_views.home, name="home"),
    path("comptes/", include("accounts.urls")),
    path("audit/", include("compliance.audit_urls")),
    path("cameras/", include("cameras.urls")),
    path("requisitions/", include("evidence.urls")),
    path("conservation/", include("recordings.retention_urls")),
    path("exploitation/", include("operations.urls")),
    path("enregistrements/", include("recordings.urls")),
    path("conformite/", include("compliance.urls")),
    path("public/", include("compliance.public_urls")),
    path("direct/", include("live.urls")),
    path("api/", include(api_patterns)),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", health.healthz, name="healthz"),
]
