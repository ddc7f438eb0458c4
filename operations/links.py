"""Operations' side of evidence's extension point: signalements named on a requisition."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import User
from operations import selectors, services
from operations.roles import ROOM_STAFF


class SignalementLinks:
    def check(self, numbers: list[str]) -> list[str]:
        try:
            services.signalements_from_numbers(numbers)
        except ValidationError as exc:
            return exc.message_dict["signalements"]
        return []

    def attach(self, *, requisition: Any, numbers: list[str], actor: User) -> None:
        services.requisition_link_at_intake(requisition=requisition, numbers=numbers, actor=actor)

    def shown(self, *, requisition: Any, user: Any) -> list[dict[str, str | None]]:
        may_open = user.has_role(*ROOM_STAFF)
        return [
            {
                "number": s.number,
                "url": reverse("operations:signalement_detail", args=[s.number])
                if may_open
                else None,
            }
            for s in selectors.requisition_signalements(requisition)
        ]
