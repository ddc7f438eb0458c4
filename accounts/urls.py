from __future__ import annotations

from django.urls import path

from accounts import admin_views, views

app_name = "accounts"
urlpatterns = [
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", views.sign_out, name="logout"),
    path("otp/", views.otp_verify, name="otp_verify"),
    path("otp/setup/", views.otp_setup, name="otp_setup"),
    path("mot-de-passe/", views.password_change, name="password_change"),
    # The administrator's pages.
    path("utilisateurs/", admin_views.user_list, name="user_list"),
    path("utilisateurs/nouveau/", admin_views.user_create, name="user_create"),
    path("utilisateurs/<int:pk>/", admin_views.user_detail, name="user_detail"),
    path("utilisateurs/<int:pk>/modifier/", admin_views.user_edit, name="user_edit"),
    path(
        "utilisateurs/<int:pk>/desactiver/",
        admin_views.user_set_active,
        {"active": False},
        name="user_deactivate",
    ),
    path(
        "utilisateurs/<int:pk>/reactiver/",
        admin_views.user_set_active,
        {"active": True},
        name="user_reactivate",
    ),
    path(
        "utilisateurs/<int:pk>/mot-de-passe/",
        admin_views.user_password_reset,
        name="user_password_reset",
    ),
    path(
        "utilisateurs/<int:pk>/second-facteur/",
        admin_views.second_factor_reset,
        name="second_factor_reset",
    ),
    path(
        "utilisateurs/<int:pk>/formation/",
        admin_views.training_create,
        name="training_create",
    ),
    path("formations/", admin_views.training_list, name="training_list"),
    path("habilitations/", admin_views.habilitation_list, name="habilitation_list"),
    path("habilitations/nouvelle/", admin_views.habilitation_create, name="habilitation_create"),
    path("habilitations/<int:pk>/", admin_views.habilitation_detail, name="habilitation_detail"),
    path(
        "habilitations/<int:pk>/modifier/",
        admin_views.habilitation_edit,
        name="habilitation_edit",
    ),
    path(
        "habilitations/<int:pk>/retirer/",
        admin_views.habilitation_revoke,
        name="habilitation_revoke",
    ),
    path("communes/", admin_views.commune_list, name="commune_list"),
    path("communes/nouvelle/", admin_views.commune_create, name="commune_create"),
    path("communes/<int:pk>/modifier/", admin_views.commune_edit, name="commune_edit"),
    path("conventions/nouvelle/", admin_views.agreement_create, name="agreement_create"),
    path("conventions/<int:pk>/", admin_views.agreement_detail, name="agreement_detail"),
    path("conventions/<int:pk>/fin/", admin_views.agreement_end, name="agreement_end"),
]
