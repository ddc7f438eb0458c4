"""Writes on the camera register; each writes its audit event in the same transaction."""

from __future__ import annotations

import logging
import math
import socket
import time
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Max, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import access
from accounts.actors import Actor, person
from accounts.models import Commune, Habilitation, User, home_commune
from accounts.qualities import Quality, quality_label
from accounts.roles import Right, Role
from accounts.scope import Scope
from audit.services import record
from cameras import health, retention, secrets, sources, video
from cameras.models import (
    EXPIRY_ALERT_DAYS,
    Authorization,
    AuthorizationAlert,
    Camera,
    CameraOutage,
    CameraStatus,
    Device,
    DeviceHealth,
    HealthStatus,
    PrivacyMask,
    five_years_after,
    same_host,
)
from cameras.purposes import Purpose
from cameras.roles import AUTHORIZATION_ALERT_HANDLERS, MASK_EDITORS, MASK_VALIDATORS
from cameras.sources import split_credentials, stream_login

logger = logging.getLogger(__name__)

HEALTH_CHECKER = "contrôle de fonctionnement"
ALERTER = "alertes d'échéance"

# --- Authorizations -----------------------------------------------------------------------------

AUTHORIZATION_FIELDS = (
    "number",
    "issued_on",
    "expires_on",
    "purposes",
    "purposes_details",
    "qualities",
    "perimeter",
    "retention_days",
)


def _authorization_details(a: Authorization) -> dict[str, Any]:
    return {name: getattr(a, name) for name in AUTHORIZATION_FIELDS}


def _listed(codes: Any, known: list[str]) -> Any:
    """A list of codes in the closed list's order, once each; anything else as given, for the
    model's validators to refuse in words."""
    if not isinstance(codes, list | tuple) or any(code not in known for code in codes):
        return codes
    return [code for code in known if code in codes]


@transaction.atomic
def authorization_create(
    *,
    number: str,
    issued_on: date,
    purposes: list[str],
    qualities: list[str],
    perimeter: str,
    retention_days: int,
    actor: Actor,
    expires_on: date | None = None,
    purposes_details: str = "",
) -> Authorization:
    authorization = Authorization(
        number=number.strip(),
        issued_on=issued_on,
        expires_on=expires_on or five_years_after(issued_on),
        purposes=_listed(purposes, Purpose.values),
        purposes_details=purposes_details.strip(),
        qualities=_listed(qualities, Quality.values),
        perimeter=perimeter.strip(),
        retention_days=retention_days,
    )
    authorization.full_clean()
    authorization.save()
    record(
        "authorization.created",
        actor=actor,
        target=authorization,
        details=_authorization_details(authorization),
    )
    return authorization


@transaction.atomic
def authorization_update(
    *, authorization: Authorization, actor: Actor, **changes: Any
) -> Authorization:
    unknown = set(changes) - set(AUTHORIZATION_FIELDS)
    if unknown:
        raise TypeError(f"cannot change {sorted(unknown)} here")
    before = _authorization_details(authorization)
    if "purposes" in changes:
        changes["purposes"] = _listed(changes["purposes"], Purpose.values)
    if "qualities" in changes:
        changes["qualities"] = _listed(changes["qualities"], Quality.values)
    for name, value in changes.items():
        setattr(authorization, name, value.strip() if isinstance(value, str) else value)
    authorization.full_clean()
    if authorization.pk:
        too_long = list(
            authorization.cameras.filter(retention_days__gt=authorization.retention_days)
            .order_by("code")
            .values_list("code", flat=True)
        )
        if too_long:
            raise ValidationError(
                {
                    "retention_days": _(
                        "Ces caméras conservent leurs images plus longtemps : %(codes)s. "
                        "Réduisez d'abord leur durée de conservation."
                    )
                    % {"codes": ", ".join(too_long)}
                }
            )
    if before["expires_on"] != authorization.expires_on:
        # A new end date starts the alerts over: 180, 90, 30 days before it.
        authorization.last_alert_days = None
    authorization.save()
    after = _authorization_details(authorization)
    diff = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if diff:
        record(
            "authorization.updated", actor=actor, target=authorization, details={"changes": diff}
        )
    authorization_alerts_settle(authorization_ids=[authorization.pk])
    return authorization


def habilitation_scope() -> Scope:
    """The sectors and the cameras in the register (not decommissioned) a habilitation may
    name; registered in accounts.scope for its forms and its checks."""
    rows = (
        Camera.objects.exclude(status=CameraStatus.DECOMMISSIONED)
        .order_by("code")
        .values_list("code", "name", "sector")
    )
    return Scope(
        sectors=sorted({sector for _code, _name, sector in rows if sector}),
        cameras=[(code, f"{code} — {name} ({sector})") for code, name, sector in rows],
    )


def habilitation_quality_refusal(habilitation: Habilitation) -> str:
    """Why ``habilitation`` may not be granted: an arrêté covering one of the cameras it would
    open does not list its holder's quality (CSI L252-2); "" when every one does. Registered in
    accounts.qualities, so that the pages and the API of habilitations both ask it."""
    quality = habilitation.user.quality
    cameras = Camera.objects.exclude(status=CameraStatus.DECOMMISSIONED).filter(
        authorization__isnull=False
    )
    if not habilitation.all_cameras:
        cameras = cameras.filter(
            Q(code__in=habilitation.camera_codes) | Q(sector__in=habilitation.sectors)
        )
    refused: dict[str, list[str]] = {}
    for code, number, qualities in cameras.order_by("authorization__number", "code").values_list(
        "code", "authorization__number", "authorization__qualities"
    ):
        if quality is None or quality not in (qualities or []):
            refused.setdefault(number, []).append(code)
    if not refused:
        return ""
    return _(
        "La qualité de %(person)s (%(quality)s) n'est pas listée par l'autorisation "
        "préfectorale des caméras couvertes : %(arretes)s."
    ) % {
        "person": habilitation.user,
        "quality": quality_label(quality),
        "arretes": " ; ".join(
            _("arrêté %(number)s (%(codes)s)") % {"number": number, "codes": ", ".join(codes)}
            for number, codes in refused.items()
        ),
    }


@transaction.atomic
def authorization_record_alert(
    *, authorization_id: int, today: date | None = None, now: datetime | None = None
) -> bool:
    """Raise the expiry alert the authorization has reached, once per threshold: an audit event
    and an :class:`AuthorizationAlert` for the supervisors, which supersedes the wider ones."""
    now = now or timezone.now()
    authorization = Authorization.objects.get(pk=authorization_id)
    today = today or timezone.localdate(now)
    left = (authorization.expires_on - today).days
    reached = [days for days in (*EXPIRY_ALERT_DAYS, 0) if left <= days]
    if not reached:
        return False
    if not (authorization.cameras.exists() or authorization.devices.exists()):
        # Replaced by another arrêté (or not used yet): no camera waits for its renewal.
        return False
    threshold = min(reached)
    previous = authorization.last_alert_days
    if previous is not None and previous <= threshold:
        return False
    # Conditional: a second run (or a concurrent one) finds the threshold already taken.
    updated = Authorization.objects.filter(pk=authorization.pk, last_alert_days=previous).update(
        last_alert_days=threshold
    )
    if not updated:
        return False
    alert, created = AuthorizationAlert.objects.get_or_create(
        authorization=authorization,
        expires_on=authorization.expires_on,
        threshold=threshold,
        defaults={"raised_at": now},
    )
    # A narrower threshold takes over: the wider alerts close, acknowledged or not.
    _alerts_supersede(
        AuthorizationAlert.objects.filter(authorization=authorization).exclude(pk=alert.pk),
        AuthorizationAlert.Supersession.NARROWER,
        now,
    )
    if not created:
        return False
    record(
        "authorization.expiry_alert",
        actor_name=ALERTER,
        target=authorization,
        details={
            "alert": alert.pk,
            "expires_on": authorization.expires_on,
            "days_left": left,
            "threshold": threshold,
            "cameras": list(authorization.cameras.values_list("code", flat=True)),
        },
    )
    return True


def _alerts_supersede(alerts: QuerySet[AuthorizationAlert], reason: str, now: datetime) -> int:
    """Close the alerts not closed yet (conditional: a closed one keeps its first reason)."""
    return alerts.filter(superseded_at__isnull=True).update(
        superseded_at=now, superseded_reason=reason
    )


def authorization_alerts_settle(
    *, authorization_ids: Iterable[int] | None = None, now: datetime | None = None
) -> int:
    """Close the alerts that no longer stand: raised for another end date than the
    authorization's (renewed or corrected), or of an authorization that covers no camera and no
    device any more (replaced by another arrêté). How many were closed."""
    now = now or timezone.now()
    alerts = AuthorizationAlert.objects.filter(superseded_at__isnull=True)
    if authorization_ids is not None:
        alerts = alerts.filter(authorization_id__in=list(authorization_ids))
    closed = _alerts_supersede(
        alerts.exclude(expires_on=F("authorization__expires_on")),
        AuthorizationAlert.Supersession.RENEWED,
        now,
    )
    unused = Authorization.objects.filter(cameras__isnull=True, devices__isnull=True)
    return closed + _alerts_supersede(
        alerts.filter(authorization__in=unused),
        AuthorizationAlert.Supersession.REPLACED,
        now,
    )


class AlertClosed(Exception):
    """The alert was already acknowledged or superseded."""


@transaction.atomic
def authorization_alert_acknowledge(
    *, alert: AuthorizationAlert, actor: Actor, note: str = "", now: datetime | None = None
) -> AuthorizationAlert:
    """A supervisor (or an administrator) takes the alert into account, with an optional note;
    the next, narrower threshold still raises an open alert."""
    who = person(actor)
    if who is None or not who.has_role(*AUTHORIZATION_ALERT_HANDLERS):
        raise PermissionDenied(
            _("Seuls les chefs de salle et les administrateurs prennent en compte les alertes.")
        )
    now = now or timezone.now()
    note = (note or "").strip()
    if len(note) > 500:
        raise ValidationError({"note": _("La note tient en 500 caractères au plus.")})
    if not AuthorizationAlert.objects.filter(
        pk=alert.pk, acknowledged_at__isnull=True, superseded_at__isnull=True
    ).update(acknowledged_at=now, acknowledged_by=who, acknowledgement_note=note):
        raise AlertClosed(_("Cette alerte est déjà prise en compte ou close."))
    alert.refresh_from_db()
    record(
        "authorization.alert_acknowledged",
        actor=actor,
        target=alert.authorization,
        reason=note,
        details={
            "alert": alert.pk,
            "threshold": alert.threshold,
            "expires_on": alert.expires_on,
            "days_left": (alert.expires_on - timezone.localdate(now)).days,
        },
    )
    return alert


# --- Recording under authorization ------------------------------------------------------------

#: The system actor of the stops and resumptions for want of an authorization.
AUTHORIZATION_GUARD = "contrôle des autorisations"


def recording_authorizations_sync(
    *, camera_ids: Iterable[int] | None = None, now: datetime | None = None
) -> dict[int, str]:
    """The cameras in service that may not be recorded now, with the reason (CSI L252-1).

    A camera that loses its authorization in force is marked stopped, and one that has one
    again is marked resumed: each change writes one audit event, whatever the number of runs
    (a conditional UPDATE decides, so concurrent runs write it once too).
    """
    now = now or timezone.now()
    day = timezone.localdate(now)
    cameras = Camera.objects.filter(status=CameraStatus.ACTIVE).select_related("authorization")
    if camera_ids is not None:
        cameras = cameras.filter(pk__in=list(camera_ids))
    refused: dict[int, str] = {}
    for camera in cameras:
        reason = camera.authorization_refusal(day)
        if reason:
            refused[camera.pk] = reason
            if camera.unauthorized_since is None:
                _recording_stop(camera, reason, now)
        elif camera.unauthorized_since is not None:
            _recording_resume(camera, now)
    return refused


def _authorization_summary(camera: Camera) -> dict[str, Any]:
    authorization = camera.authorization if camera.authorization_id else None
    if authorization is None:
        return {"authorization": None}
    return {
        "authorization": authorization.number,
        "issued_on": authorization.issued_on,
        "expires_on": authorization.expires_on,
    }


@transaction.atomic
def _recording_stop(camera: Camera, reason: str, now: datetime) -> None:
    if not Camera.objects.filter(pk=camera.pk, unauthorized_since__isnull=True).update(
        unauthorized_since=now
    ):
        return
    camera.unauthorized_since = now
    record(
        "camera.recording_stopped_unauthorized",
        actor_name=AUTHORIZATION_GUARD,
        target=camera,
        reason=reason,
        details={"since": now, **_authorization_summary(camera)},
    )


@transaction.atomic
def _recording_resume(camera: Camera, now: datetime) -> None:
    since = camera.unauthorized_since
    if not Camera.objects.filter(pk=camera.pk, unauthorized_since=since).update(
        unauthorized_since=None
    ):
        return
    camera.unauthorized_since = None
    record(
        "camera.recording_resumed",
        actor_name=AUTHORIZATION_GUARD,
        target=camera,
        reason=_("Autorisation en vigueur."),
        details={"stopped_since": since, **_authorization_summary(camera)},
    )


# --- Cameras --------------------------------------------------------------------------------

CAMERA_FIELDS = (
    "code",
    "name",
    "address",
    "latitude",
    "longitude",
    "commune",
    "sector",
    "kind",
    "infrared",
    "commissioned_on",
    "status",
    "retention_days",
    "authorization",
    "device",
    "police_relay",
    "stream_url",
    "live_stream_url",
    "expected_fps",
)


def _camera_details(camera: Camera) -> dict[str, Any]:
    details = {name: getattr(camera, name) for name in CAMERA_FIELDS}
    details["authorization"] = camera.authorization.number if camera.authorization else None
    details["device"] = camera.device.code if camera.device else None
    details["commune"] = str(camera.commune)
    details["latitude"] = str(camera.latitude) if camera.latitude is not None else None
    details["longitude"] = str(camera.longitude) if camera.longitude is not None else None
    details["has_credentials"] = camera.has_credentials
    return details


def check_source_allowed(url: str) -> None:
    """Refuse an address this installation may not open (production rules, camera networks)."""
    reason = sources.refusal(url)
    if reason:
        raise ValidationError({"stream_url": reason})


def check_source_reachable(url: str) -> None:
    """Refuse an address whose host does not answer (or whose file does not exist).

    Every network failure (refused, closed port, no route, timeout, unknown name) gets the same
    words: the page must not tell which machines of the network exist. The cause is logged.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "file":
        path = Path(unquote(parts.path))
        if not path.is_file():
            raise ValidationError(
                {"stream_url": _("Fichier vidéo introuvable : %(path)s.") % {"path": path}}
            )
        return
    host, port = sources.origin(url)[1:]
    try:
        with socket.create_connection((host, port), timeout=settings.CAMERA_CONNECT_TIMEOUT):
            pass
    except (OSError, UnicodeError) as exc:
        logger.info(
            "camera source %s unreachable: %s", sources.public_url(url), sources.describe(exc)
        )
        raise ValidationError(
            {
                "stream_url": _(
                    "Source injoignable : vérifiez l'adresse, ou enregistrez la caméra « en "
                    "maintenance » tant qu'elle n'est pas raccordée."
                )
            }
        ) from None


def _check_authorization_in_force(
    authorization: Authorization | None, *, for_device: bool = False
) -> None:
    if authorization is None:
        return
    today = timezone.localdate()
    if authorization.expires_on < today:
        if for_device:
            message = _(
                "L'autorisation %(number)s a expiré le %(day)s : un équipement ne peut pas y "
                "être rattaché."
            )
        else:
            message = _(
                "L'autorisation %(number)s a expiré le %(day)s : une caméra ne peut pas y "
                "être rattachée."
            )
        raise ValidationError(
            {
                "authorization": message
                % {
                    "number": authorization.number,
                    "day": authorization.expires_on.strftime("%d/%m/%Y"),
                }
            }
        )
    if authorization.issued_on > today:
        raise ValidationError(
            {
                "authorization": _("L'autorisation %(number)s ne prend effet que le %(day)s.")
                % {
                    "number": authorization.number,
                    "day": authorization.issued_on.strftime("%d/%m/%Y"),
                }
            }
        )


@transaction.atomic
def camera_create(
    *,
    code: str,
    name: str,
    sector: str,
    kind: str,
    stream_url: str,
    actor: Actor,
    address: str = "",
    latitude: Any = None,
    longitude: Any = None,
    infrared: bool = False,
    commissioned_on: date | None = None,
    status: str = CameraStatus.ACTIVE,
    retention_days: int = 15,
    authorization: Authorization | None = None,
    expected_fps: int = 12,
    stream_username: str = "",
    stream_password: str = "",
    verify_source: bool = True,
    live_stream_url: str = "",
    device: Device | None = None,
    police_relay: bool = False,
    commune: Commune | None = None,
) -> Camera:
    retention.check_minimum(retention_days)
    url, url_username, url_password = split_credentials(stream_url)
    camera = Camera(
        code=code.strip(),
        name=name.strip(),
        address=address.strip(),
        latitude=latitude,
        longitude=longitude,
        sector=sector.strip(),
        commune=commune or home_commune(),
        kind=kind,
        infrared=infrared,
        commissioned_on=commissioned_on,
        status=status,
        retention_days=retention_days,
        authorization=authorization,
        device=device,
        police_relay=police_relay,
        stream_url=url,
        live_stream_url=live_stream_url.strip(),
        expected_fps=expected_fps,
    )
    # On a device, the camera takes its authorization and address (Camera.clean).
    camera.full_clean()
    _check_authorization_in_force(camera.authorization)
    check_source_allowed(url)
    if verify_source and status == CameraStatus.ACTIVE:
        check_source_reachable(url)
    camera.save()
    # Sealed once the camera has its id: the sealed value is bound to this camera.
    camera.stream_credentials = secrets.seal(
        stream_username or url_username, stream_password or url_password, camera_id=camera.pk
    )
    if camera.stream_credentials:
        Camera.objects.filter(pk=camera.pk).update(stream_credentials=camera.stream_credentials)
    record("camera.created", actor=actor, target=camera, details=_camera_details(camera))
    return camera


@transaction.atomic
def camera_update(
    *,
    camera: Camera,
    actor: Actor,
    stream_username: str | None = None,
    stream_password: str | None = None,
    clear_credentials: bool = False,
    verify_source: bool = True,
    retention_reason: str = "",
    **changes: Any,
) -> Camera:
    """Change a camera; credentials change only when given (None keeps the stored ones).

    A raise of the retention applies at once; a lowering becomes a request that the DPO
    validates (cameras.retention), set on ``camera.retention_request``, and the camera keeps
    its retention meanwhile.
    """
    unknown = set(changes) - set(CAMERA_FIELDS)
    if unknown:
        raise TypeError(f"cannot change {sorted(unknown)} here")
    camera.retention_request = None
    lowered_to: int | None = None
    new_days = changes.get("retention_days")
    if new_days is not None and new_days != camera.retention_days:
        retention.check_change(camera, new_days)
        if new_days < camera.retention_days:
            lowered_to = changes.pop("retention_days")
    before = _camera_details(camera)
    old_authorization = camera.authorization_id
    url_username = url_password = ""
    if "stream_url" in changes:
        changes["stream_url"], url_username, url_password = split_credentials(changes["stream_url"])
    for name, value in changes.items():
        setattr(camera, name, value.strip() if isinstance(value, str) else value)
    camera.full_clean()
    if camera.authorization_id != old_authorization:
        _check_authorization_in_force(camera.authorization)
    source_changed = before["stream_url"] != camera.stream_url
    if source_changed:
        check_source_allowed(camera.stream_url)
    if (
        verify_source
        and camera.status == CameraStatus.ACTIVE
        and (source_changed or before["status"] != camera.status)
    ):
        check_source_reachable(camera.stream_url)
    credentials_change = ""
    if clear_credentials:
        credentials_change = "cleared" if camera.has_credentials else ""
        camera.stream_credentials = ""
    elif stream_username or stream_password or url_username or url_password:
        camera.stream_credentials = secrets.seal(
            stream_username or url_username,
            stream_password or url_password,
            camera_id=camera.pk,
        )
        credentials_change = "changed"
    elif camera.has_credentials and sources.origin(before["stream_url"]) != sources.origin(
        camera.stream_url
    ):
        # Another scheme, host or port: the login was given for another machine, and is not
        # handed to this one unless typed again.
        camera.stream_credentials = ""
        credentials_change = "dropped"
    credentials_changed = bool(credentials_change)
    if source_changed:
        # Another source, another view: the next healthy check takes a new reference.
        camera.reference_image = None
        camera.reference_set_at = None
    camera.save()
    after = _camera_details(camera)
    diff = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if credentials_changed:
        diff["stream_credentials"] = ["***", "***"]
    if diff:
        record("camera.updated", actor=actor, target=camera, details={"changes": diff})
    if old_authorization is not None and camera.authorization_id != old_authorization:
        # The old arrêté may cover no camera any more: its expiry alerts close.
        authorization_alerts_settle(authorization_ids=[old_authorization])
    if lowered_to is not None:
        camera.retention_request = retention.retention_change_request(
            camera=camera, new_days=lowered_to, actor=actor, reason=retention_reason
        )
    if source_changed or credentials_changed:
        record(
            "camera.source_changed",
            actor=actor,
            target=camera,
            details={
                "from": sources.public_url(before["stream_url"]),
                "to": sources.public_url(camera.stream_url),
                "credentials": credentials_change or "kept",
                "has_credentials": camera.has_credentials,
            },
        )
    return camera


@transaction.atomic
def camera_reset_reference(*, camera: Camera, actor: Actor) -> Camera:
    """Forget the reference picture: the next healthy check takes the current view instead."""
    Camera.objects.filter(pk=camera.pk).update(reference_image=None, reference_set_at=None)
    camera.reference_image = None
    camera.reference_set_at = None
    record("camera.reference_set", actor=actor, target=camera, details={"reset": True})
    return camera


# --- Devices ----------------------------------------------------------------------------------

DEVICE_FIELDS = (
    "code",
    "name",
    "host",
    "address",
    "authorization",
    "manufacturer",
    "model_name",
)


def _device_details(device: Device) -> dict[str, Any]:
    details = {name: getattr(device, name) for name in DEVICE_FIELDS}
    details["authorization"] = device.authorization.number if device.authorization else None
    details["has_credentials"] = device.has_credentials
    return details


def _host_url(host: str) -> str:
    return f"rtsp://[{host}]/" if ":" in host else f"rtsp://{host}/"


def _check_host_allowed(host: str) -> None:
    reason = sources.refusal(_host_url(host))
    if reason:
        raise ValidationError({"host": reason})


def _moved(url: str, old_host: str, new_host: str) -> str:
    """The address on the device's new host, same scheme, port and path; others unchanged."""
    if not url or urlsplit(url).scheme.lower() == "file" or not same_host(url, old_host):
        return url
    parts = urlsplit(url)
    netloc = f"[{new_host}]" if ":" in new_host else new_host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@transaction.atomic
def device_create(
    *,
    code: str,
    name: str,
    host: str,
    actor: Any,
    address: str = "",
    authorization: Authorization | None = None,
    manufacturer: str = "",
    model_name: str = "",
    stream_username: str = "",
    stream_password: str = "",
) -> Device:
    device = Device(
        code=code.strip(),
        name=name.strip(),
        host=host.strip(),
        address=address.strip(),
        authorization=authorization,
        manufacturer=manufacturer.strip(),
        model_name=model_name.strip(),
    )
    device.full_clean()
    _check_authorization_in_force(authorization, for_device=True)
    _check_host_allowed(device.host)
    device.save()
    # Sealed once the device has its id: the sealed value is bound to this device.
    device.stream_credentials = secrets.seal_device(
        stream_username, stream_password, device_id=device.pk
    )
    if device.stream_credentials:
        Device.objects.filter(pk=device.pk).update(stream_credentials=device.stream_credentials)
    record("device.created", actor=actor, target=device, details=_device_details(device))
    return device


def _update_sensors(device: Device, actor: Any, old_host: str) -> None:
    """Carry the device's authorization and host over to its sensors (each change audited)."""
    for sensor in Camera.objects.filter(device=device).select_related("device").order_by("code"):
        changes: dict[str, Any] = {}
        if sensor.authorization_id != device.authorization_id:
            changes["authorization"] = device.authorization
        if old_host != device.host:
            for name in ("stream_url", "live_stream_url"):
                moved = _moved(getattr(sensor, name), old_host, device.host)
                if moved != getattr(sensor, name):
                    changes[name] = moved
        if not changes:
            continue
        try:
            camera_update(camera=sensor, actor=actor, verify_source=False, **changes)
        except ValidationError as exc:
            field = "authorization" if "authorization" in changes else "host"
            raise ValidationError(
                {
                    field: _("Capteur %(code)s : %(error)s")
                    % {"code": sensor.code, "error": " ".join(exc.messages)}
                }
            ) from None


@transaction.atomic
def device_update(
    *,
    device: Device,
    actor: Any,
    stream_username: str | None = None,
    stream_password: str | None = None,
    clear_credentials: bool = False,
    **changes: Any,
) -> Device:
    """Change a device; its sensors follow its authorization and its host.

    Credentials change only when given (None keeps them); a new host drops them unless they
    are typed again, as for a camera whose address moves to another machine.
    """
    unknown = set(changes) - set(DEVICE_FIELDS)
    if unknown:
        raise TypeError(f"cannot change {sorted(unknown)} here")
    before = _device_details(device)
    old_authorization = device.authorization_id
    for name, value in changes.items():
        setattr(device, name, value.strip() if isinstance(value, str) else value)
    device.full_clean()
    if device.authorization_id != old_authorization:
        _check_authorization_in_force(device.authorization, for_device=True)
        if device.authorization is not None:
            too_long = list(
                device.sensors.filter(retention_days__gt=device.authorization.retention_days)
                .order_by("code")
                .values_list("code", flat=True)
            )
            if too_long:
                raise ValidationError(
                    {
                        "authorization": _(
                            "Ces capteurs conservent leurs images plus longtemps que ne le "
                            "permet l'autorisation %(number)s : %(codes)s. Réduisez d'abord "
                            "leur durée de conservation."
                        )
                        % {"number": device.authorization.number, "codes": ", ".join(too_long)}
                    }
                )
    host_changed = before["host"] != device.host
    if host_changed:
        _check_host_allowed(device.host)
    credentials_change = ""
    if clear_credentials:
        credentials_change = "cleared" if device.has_credentials else ""
        device.stream_credentials = ""
    elif stream_username or stream_password:
        device.stream_credentials = secrets.seal_device(
            stream_username or "", stream_password or "", device_id=device.pk
        )
        credentials_change = "changed"
    elif host_changed and device.has_credentials:
        device.stream_credentials = ""
        credentials_change = "dropped"
    device.save()
    _update_sensors(device, actor, before["host"])
    after = _device_details(device)
    diff: dict[str, Any] = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if credentials_change:
        diff["stream_credentials"] = ["***", "***"]
        diff["credentials"] = credentials_change
    if diff:
        record("device.updated", actor=actor, target=device, details={"changes": diff})
    if old_authorization is not None and device.authorization_id != old_authorization:
        authorization_alerts_settle(authorization_ids=[old_authorization])
    return device


@transaction.atomic
def device_record_health(*, device_id: int, at: datetime | None = None) -> bool:
    """The box's state from its sensors' last checks: unreachable when every one failed to
    connect, reachable when any answered. Returns True when the state changed (recorded once,
    conditional on the state read)."""
    now = at or timezone.now()
    device = Device.objects.get(pk=device_id)
    checked = list(
        Camera.objects.filter(
            device_id=device_id, status=CameraStatus.ACTIVE, health_checked_at__isnull=False
        ).order_by("code")
    )
    if not checked:
        return False
    answered = [
        c
        for c in checked
        if c.health_status != HealthStatus.UNREACHABLE or c.health_detail.get("undecodable")
    ]
    status = DeviceHealth.REACHABLE if answered else DeviceHealth.UNREACHABLE
    fields: dict[str, Any] = {"health_checked_at": now}
    if answered:
        fields["last_seen_at"] = max(c.health_checked_at or now for c in answered)
    old = device.health_status
    if old == status:
        Device.objects.filter(pk=device_id).update(**fields)
        return False
    changed = Device.objects.filter(pk=device_id, health_status=old).update(
        health_status=status, **fields
    )
    if not changed:
        return False
    record(
        "device.health_changed",
        actor_name=HEALTH_CHECKER,
        target=device,
        details={"from": old, "to": status, "sensors": [c.code for c in checked]},
    )
    return True


# --- Privacy masks ------------------------------------------------------------------------------


class OwnMasksRefused(PermissionDenied):
    """A chef de salle asked to validate the masks he saved himself."""


def _require_mask_editor(actor: User, camera: Camera) -> None:
    """A chef de salle habilitated to watch this camera live: masks are drawn over its image."""
    if not (actor and actor.is_authenticated and actor.has_role(*MASK_EDITORS)):
        raise PermissionDenied(_("Seul un chef de salle gère les masques de confidentialité."))
    decision = access.decide(actor, Right.LIVE, camera)
    if not decision:
        raise PermissionDenied(
            _(
                "Les masques de cette caméra ne peuvent être modifiés ou validés que par une "
                "personne habilitée à la visionner en direct : %(reason)s"
            )
            % {"reason": decision.reason}
        )


def _normalized_polygons(polygons: Any) -> Any:
    if not isinstance(polygons, list):
        return polygons
    clean = []
    for polygon in polygons:
        if isinstance(polygon, dict):
            polygon = {
                "mode": polygon.get("mode", "software"),
                "label": str(polygon.get("label", ""))[:100],
                "points": polygon.get("points"),
            }
        clean.append(polygon)
    return clean


@transaction.atomic
def mask_save(
    *, camera: Camera, polygons: list[dict[str, Any]], actor: User, note: str = ""
) -> PrivacyMask:
    """A new version of the camera's masks; the previous versions stay as they were."""
    _require_mask_editor(actor, camera)
    locked = Camera.objects.select_for_update().get(pk=camera.pk)
    latest = locked.mask_versions.aggregate(v=Max("version"))["v"] or 0
    mask = PrivacyMask(
        camera=locked,
        version=latest + 1,
        polygons=_normalized_polygons(polygons),
        note=note.strip(),
        author=actor,
    )
    mask.full_clean()
    mask.save()
    record(
        "privacy_mask.saved",
        actor=actor,
        target=camera,
        details={
            "version": mask.version,
            "polygons": mask.polygons,
            "note": mask.note,
        },
    )
    return mask


def mask_validate(*, mask: PrivacyMask, actor: User) -> PrivacyMask:
    """Validate the camera's newest mask version: another chef de salle than its author (with
    the live habilitation on the camera) or the DPO (who sees the polygons, never the picture).
    The author's own attempt is refused (OwnMasksRefused) and audited.
    """
    if not (actor and actor.is_authenticated and actor.has_role(*MASK_VALIDATORS)):
        raise PermissionDenied(
            _("Seul un chef de salle ou le délégué à la protection des données valide les masques.")
        )
    if mask.author_id == actor.pk:
        # Four eyes (DESIGN.md): whoever drew the masks does not approve them too. The attempt
        # is on record, in its own transaction: the refusal changes nothing else.
        with transaction.atomic():
            record(
                "privacy_mask.validation_refused",
                actor=actor,
                target=mask.camera,
                details={"version": mask.version, "author_id": mask.author_id},
            )
        raise OwnMasksRefused(
            _(
                "Vous ne pouvez pas valider des masques que vous avez vous-même enregistrés : "
                "un autre chef de salle ou le délégué à la protection des données doit les "
                "valider."
            )
        )
    if not actor.has_role(Role.DPO):
        _require_mask_editor(actor, mask.camera)
    with transaction.atomic():
        return _mask_validated(mask, actor)


def _mask_validated(mask: PrivacyMask, actor: User) -> PrivacyMask:
    """The validation itself, once the validator is admitted (inside a transaction)."""
    latest = mask.camera.mask_versions.aggregate(v=Max("version"))["v"]
    if mask.version != latest:
        raise ValidationError(
            _("Seule la dernière version (v%(v)s) des masques peut être validée.") % {"v": latest}
        )
    now = timezone.now()
    updated = PrivacyMask.objects.filter(pk=mask.pk, validated_at__isnull=True).update(
        validated_at=now, validated_by=actor
    )
    if not updated:
        raise ValidationError(_("Cette version des masques est déjà validée."))
    mask.refresh_from_db()
    record(
        "privacy_mask.validated",
        actor=actor,
        target=mask.camera,
        details={
            "version": mask.version,
            "author": str(mask.author),
            "author_id": mask.author_id,
        },
    )
    return mask


# --- Snapshots --------------------------------------------------------------------------------


def software_polygons(camera: Camera) -> list[list[list[float]]]:
    mask = camera.current_mask()
    return mask.software_polygons if mask else []


def snapshot_take(*, camera: Camera, actor: Actor) -> bytes:
    """A current JPEG of the camera, software masks burnt in, for a habilitated person."""
    decision = access.decide(actor, Right.LIVE, camera)
    if not decision:
        raise PermissionDenied(decision.reason)
    try:
        username, password = stream_login(camera)
    except secrets.CredentialsUnreadable:
        logger.error("camera %s: stream credentials do not open (wrong key?)", camera.code)
        raise video.SourceError(
            _("Les identifiants enregistrés de la caméra sont illisibles : ressaisissez-les.")
        ) from None
    image = video.grab(
        camera.stream_url,
        username=username,
        password=password,
        timeout=settings.CAMERA_CONNECT_TIMEOUT,
    )
    mask = camera.current_mask()
    video.apply_masks(image, mask.software_polygons if mask else [])
    data = video.encode_jpeg(image)
    with transaction.atomic():
        record(
            "camera.snapshot_viewed",
            actor=actor,
            target=camera,
            reason=decision.reason,
            details={
                "habilitation": decision.habilitation.pk if decision.habilitation else None,
                "mask_version": mask.version if mask else None,
            },
        )
    return data


# --- Health -----------------------------------------------------------------------------------


@transaction.atomic
def camera_record_health(
    *, camera_id: int, probe: health.Probe, at: datetime | None = None
) -> bool:
    """Store a check's result; a change of status closes and opens outage periods.

    Returns True when the status changed. Conditional on the status read, so that two checks
    running at once record one change, not two.
    """
    now = at or timezone.now()
    camera = Camera.objects.get(pk=camera_id)
    fields: dict[str, Any] = {"health_checked_at": now, "health_detail": probe.detail}
    if probe.reference and not camera.reference_image:
        fields.update(reference_image=probe.reference, reference_set_at=now)
    old = camera.health_status
    if old == probe.status:
        Camera.objects.filter(pk=camera_id).update(**fields)
        return False
    changed = Camera.objects.filter(pk=camera_id, health_status=old).update(
        health_status=probe.status, **fields
    )
    if not changed:
        return False
    CameraOutage.objects.filter(camera_id=camera_id, ended_at__isnull=True).update(ended_at=now)
    if probe.status not in (HealthStatus.OK, HealthStatus.UNKNOWN):
        CameraOutage.objects.create(
            camera_id=camera_id, status=probe.status, started_at=now, detail=probe.detail
        )
    record(
        "camera.health_changed",
        actor_name=HEALTH_CHECKER,
        target=camera,
        details={"from": old, "to": probe.status, "measures": probe.detail},
    )
    return True


def _probe_camera(job: dict[str, Any]) -> health.Probe:
    return health.probe(
        job["url"],
        username=job["username"],
        password=job["password"],
        expected_fps=job["expected_fps"],
        reference_png=job["reference"],
        polygons=job["polygons"],
        seconds=settings.CAMERA_SAMPLE_SECONDS,
        timeout=settings.CAMERA_CONNECT_TIMEOUT,
    )


#: A round of health checks should end well within the beat's minute, so that the next one
#: never queues behind it and a dead camera shows within the minute.
HEALTH_ROUND_SECONDS = 20


def health_workers(cameras: int) -> int:
    """Threads for a round over ``cameras``: enough that the probes (the sample plus about a
    second to connect, each) fit in ``HEALTH_ROUND_SECONDS``, at least 4, at most
    ``CSU_CAMERA_HEALTH_MAX_WORKERS``."""
    needed = math.ceil(cameras * (settings.CAMERA_SAMPLE_SECONDS + 1) / HEALTH_ROUND_SECONDS)
    return max(1, min(settings.CAMERA_HEALTH_MAX_WORKERS, max(4, needed)))


def cameras_check_health(
    *, camera_ids: list[int] | None = None, workers: int | None = None
) -> dict[str, str]:
    """Check every camera in service; one that hangs or fails never stops the others.

    Sources are read in threads (I/O bound, each bounded in time), as many as the round needs
    (``health_workers``) unless ``workers`` says; results are written here, one transaction
    per camera. Returns {code: status}.
    """
    cameras = (
        Camera.objects.filter(status=CameraStatus.ACTIVE).select_related("device").order_by("code")
    )
    if camera_ids is not None:
        cameras = cameras.filter(pk__in=camera_ids)
    jobs: list[dict[str, Any]] = []
    for camera in cameras:
        try:
            username, password = stream_login(camera)
        except secrets.CredentialsUnreadable:
            logger.error("camera %s: stream credentials do not open (wrong key?)", camera.code)
            username = password = ""
        jobs.append(
            {
                "pk": camera.pk,
                "device": camera.device_id,
                "code": camera.code,
                "url": camera.stream_url,
                "username": username,
                "password": password,
                "expected_fps": camera.expected_fps,
                "reference": bytes(camera.reference_image) if camera.reference_image else None,
                "polygons": software_polygons(camera),
            }
        )
    if not jobs:
        return {}
    workers = workers or health_workers(len(jobs))
    per_job = settings.CAMERA_CONNECT_TIMEOUT * 2 + settings.CAMERA_SAMPLE_SECONDS + 5
    deadline = time.monotonic() + math.ceil(len(jobs) / workers) * per_job
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="camera-health")
    futures: list[tuple[dict[str, Any], Future[health.Probe]]] = [
        (job, pool.submit(_probe_camera, job)) for job in jobs
    ]
    results: dict[str, str] = {}
    try:
        for job, future in futures:
            try:
                outcome = future.result(timeout=max(0.1, deadline - time.monotonic()))
            except FutureTimeout:
                outcome = health.Probe(
                    HealthStatus.UNREACHABLE, {"error": _("Délai de contrôle dépassé.")}
                )
            except Exception as exc:  # a broken source must not stop the round
                logger.warning(
                    "health check of %s failed: %s",
                    job["code"],
                    sources.describe(exc, (job["password"], job["username"])),
                )
                outcome = health.Probe(
                    HealthStatus.UNREACHABLE, {"error": _("Contrôle impossible.")}
                )
            try:
                camera_record_health(camera_id=job["pk"], probe=outcome)
            except Camera.DoesNotExist:
                continue
            results[job["code"]] = outcome.status
    finally:
        # Threads stuck on a dead source are left to their own timeouts, not waited for.
        pool.shutdown(wait=False, cancel_futures=True)
    # A box's state comes from this round's results for its sensors: no probe of its own.
    for device_id in sorted({job["device"] for job in jobs if job["device"]}):
        try:
            device_record_health(device_id=device_id)
        except Device.DoesNotExist:
            continue
    return results
