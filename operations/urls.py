from __future__ import annotations

from django.urls import path

from operations import views

app_name = "operations"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("tableau/<slug:part>/", views.dashboard_part, name="dashboard_part"),
    path("alarmes/", views.alarm_list, name="alarm_list"),
    path("alarmes/historique/", views.alarm_history, name="alarm_history"),
    path("alarmes/<int:pk>/acquitter/", views.alarm_acknowledge, name="alarm_acknowledge"),
    path("alarmes/<int:pk>/clore/", views.alarm_close, name="alarm_close"),
    path("vacations/", views.shift_list, name="shift_list"),
    path("vacations/prise/", views.clock_in, name="clock_in"),
    path("vacations/fin/", views.clock_out, name="clock_out"),
    path("vacations/<int:pk>/cloturer/", views.shift_close, name="shift_close"),
    path("planning/", views.rota, name="rota"),
    path("planning/generer/", views.rota_generate, name="rota_generate"),
    path("planning/<int:pk>/retirer/", views.rota_remove, name="rota_remove"),
    path("signalements/", views.signalement_list, name="signalement_list"),
    path("signalements/nouveau/", views.signalement_create, name="signalement_create"),
    path("signalements/<str:number>/", views.signalement_detail, name="signalement_detail"),
    path("statistiques/", views.statistics, name="statistics"),
    path("statistiques/graphique/<str:name>.png", views.statistics_chart, name="statistics_chart"),
    path("statistiques/rapport-<int:year>.pdf", views.annual_report, name="annual_report"),
]
