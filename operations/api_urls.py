from __future__ import annotations

from django.urls import path

from operations import api

urlpatterns = [
    path("operations/statistics/", api.Statistics.as_view(), name="operations-statistics"),
    path("operations/signalements/", api.SignalementList.as_view(), name="signalement-list"),
    path(
        "operations/signalements/<str:number>/",
        api.SignalementDetail.as_view(),
        name="signalement-detail",
    ),
    path(
        "operations/signalements/<str:number>/requisitions/",
        api.SignalementRequisitions.as_view(),
        name="signalement-requisitions",
    ),
    path(
        "operations/signalements/<str:number>/services/<str:service>/arrived/",
        api.ServiceArrived.as_view(),
        name="signalement-service-arrived",
    ),
    path(
        "operations/requisitions/<int:pk>/signalements/",
        api.RequisitionSignalements.as_view(),
        name="requisition-signalements",
    ),
    path(
        "operations/requisitions/<int:pk>/signalements/<str:number>/",
        api.RequisitionSignalementDetail.as_view(),
        name="requisition-signalement-detail",
    ),
    path("alarms/", api.AlarmList.as_view(), name="alarm-list"),
    path("alarms/<int:pk>/acknowledge/", api.AlarmAcknowledge.as_view(), name="alarm-acknowledge"),
    path("alarms/<int:pk>/close/", api.AlarmClose.as_view(), name="alarm-close"),
    path("operations/rota/", api.RotaSlots.as_view(), name="rota-slots"),
    path("operations/shifts/clock-in/", api.ClockIn.as_view(), name="shift-clock-in"),
    path("operations/shifts/clock-out/", api.ClockOut.as_view(), name="shift-clock-out"),
]
