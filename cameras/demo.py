"""Demo cameras: short H.264 clips made here (no download) and the register entries over them."""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from accounts.actors import Actor, SystemActor
from accounts.qualities import Quality
from cameras import services
from cameras.models import Authorization, Camera, CameraKind, CameraStatus, Device
from cameras.purposes import Purpose

#: Who creates the demo cameras when no person is named, as the audit trail shows it.
DEMO_ACTOR = SystemActor("manage.py load_demo_cameras")
MOTION = "motion"
STILL = "still"
BLACK = "black"


def _scene(width: int, height: int, seed: int) -> np.ndarray:
    """A street-like background: sky, buildings with windows, a road; textured, never flat."""
    rng = np.random.default_rng(seed)
    frame = np.zeros((height, width, 3), np.uint8)
    frame[:] = (200, 170, 120)
    horizon = height * 2 // 3
    x = 0
    while x < width:
        w = int(rng.integers(width // 8, width // 4))
        top = int(rng.integers(height // 8, horizon - height // 6))
        colour = tuple(int(c) for c in rng.integers(60, 200, 3))
        cv2.rectangle(frame, (x, top), (x + w, horizon), colour, -1)
        for wy in range(top + 6, horizon - 8, 14):
            for wx in range(x + 5, x + w - 8, 12):
                cv2.rectangle(frame, (wx, wy), (wx + 5, wy + 7), (40, 60, 80), -1)
        x += w + 2
    frame[horizon:] = (70, 70, 70)
    for lx in range(0, width, 40):
        cv2.line(frame, (lx, height * 5 // 6), (lx + 20, height * 5 // 6), (230, 230, 230), 2)
    noise = rng.integers(0, 12, frame.shape, dtype=np.uint8)
    return cv2.add(frame, noise)


def render_frame(
    index: int, *, fps: int, size: tuple[int, int], label: str, scene: str, seed: int
) -> np.ndarray:
    width, height = size
    if scene == BLACK:
        return np.zeros((height, width, 3), np.uint8)
    frame = _scene(width, height, seed)
    if scene == STILL:
        cv2.putText(frame, label, (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1)
        return frame
    t = index / fps
    # A "vehicle" crossing the road and a blinking light: visible motion.
    span = width + 60
    x = int((t * width / 2.5) % span) - 40
    y = height * 3 // 4
    cv2.rectangle(frame, (x, y - 12), (x + 40, y + 8), (30, 30, 200), -1)
    cv2.circle(frame, (x + 10, y + 9), 5, (20, 20, 20), -1)
    cv2.circle(frame, (x + 30, y + 9), 5, (20, 20, 20), -1)
    if int(t * 2) % 2 == 0:
        cv2.circle(frame, (width - 20, 20), 6, (0, 220, 255), -1)
    clock = (timezone.localtime() + timedelta(seconds=t)).strftime("%H:%M:%S")
    cv2.rectangle(frame, (0, height - 20), (width, height), (0, 0, 0), -1)
    cv2.putText(
        frame,
        f"{label}  {clock}.{int((t % 1) * 10)}",
        (6, height - 6),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.42,
        (255, 255, 255),
        1,
        cv2.LINE_AA,
    )
    return frame


def write_clip(
    path: Path,
    *,
    label: str,
    scene: str = MOTION,
    seconds: float = 4,
    fps: int = 12,
    size: tuple[int, int] = (320, 180),
    seed: int = 1,
    offset: tuple[int, int] = (0, 0),
) -> Path:
    """Encode a short H.264 MP4 clip (PyAV: OpenCV cannot write H.264 here).

    ``offset`` shifts the view by (x, y) pixels, as a camera knocked out of position would.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.part")
    with av.open(str(partial), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, fps)
        stream.options = {"preset": "veryfast", "crf": "28", "g": str(fps)}
        for index in range(int(seconds * fps)):
            image = render_frame(index, fps=fps, size=size, label=label, scene=scene, seed=seed)
            if offset != (0, 0):
                shift = np.array([[1, 0, offset[0]], [0, 1, offset[1]]], dtype=np.float32)
                image = cv2.warpAffine(image, shift, size, borderMode=cv2.BORDER_REFLECT)
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    partial.replace(path)
    return path


DEMO_AUTHORIZATION: dict[str, Any] = {
    "number": "73-2023-DSC-0142",
    "purposes": [
        Purpose.PUBLIC_BUILDINGS,
        Purpose.TRAFFIC_FLOWS,
        Purpose.PERSONS_AND_PROPERTY,
        Purpose.RESCUE_AND_FIRE,
    ],
    "purposes_details": "Abords de l'hôtel de ville et de la gare ; places et rues commerçantes "
    "du centre-ville exposées aux vols et aux agressions ; régulation du trafic routier.",
    "qualities": [
        Quality.CSU_OPERATOR,
        Quality.POLICE_MUNICIPALE,
        Quality.POLICE_NATIONALE,
    ],
    "perimeter": "Centre-ville de Chambéry, gare, quartier de Bissy.",
    "retention_days": 15,
}

DEMO_CAMERAS: list[dict[str, Any]] = [
    {
        "code": "CAM-001",
        "name": "Place Saint-Léger",
        "address": "Place Saint-Léger, 73000 Chambéry",
        "latitude": "45.566100",
        "longitude": "5.923400",
        "sector": "Centre-ville",
        "kind": CameraKind.DOME,
        "infrared": True,
        # Listed in the agreement with the Police nationale: its station watches it live.
        "police_relay": True,
    },
    {
        "code": "CAM-002",
        "name": "Fontaine des Éléphants",
        "address": "Boulevard de la Colonne, 73000 Chambéry",
        "latitude": "45.566900",
        "longitude": "5.924700",
        "sector": "Centre-ville",
        "kind": CameraKind.PTZ,
        "infrared": True,
    },
    {
        "code": "CAM-003",
        "name": "Parvis de la gare",
        "address": "Place de la Gare, 73000 Chambéry",
        "latitude": "45.571300",
        "longitude": "5.919300",
        "sector": "Gare",
        "kind": CameraKind.MULTISENSOR,
        "infrared": False,
        "device": "EQ-GARE",
        "police_relay": True,
    },
    {
        "code": "CAM-004",
        "name": "Carrefour de Bissy",
        "address": "Avenue de Bissy, 73000 Chambéry",
        "latitude": "45.574900",
        "longitude": "5.897200",
        "sector": "Bissy",
        "kind": CameraKind.FIXED,
        "infrared": False,
    },
    {
        "code": "CAM-005",
        "name": "Parvis de la gare, vers les quais",
        "latitude": "45.571300",
        "longitude": "5.919300",
        "sector": "Gare",
        "kind": CameraKind.MULTISENSOR,
        "infrared": False,
        "device": "EQ-GARE",
    },
]

#: The multi-sensor head of the station square: CAM-003 and CAM-005 are two of its sensors
#: (the sensors take its address; the demo's clips are local files, so no login is needed).
DEMO_DEVICES: list[dict[str, Any]] = [
    {
        "code": "EQ-GARE",
        "name": "Tête multicapteur du parvis de la gare",
        "host": "127.0.0.1",
        "address": "Place de la Gare, 73000 Chambéry",
        "manufacturer": "Démonstration",
        "model_name": "4 capteurs",
    },
]


def clip_dir() -> Path:
    return Path(settings.DATA_DIR) / "demo" / "clips"


@transaction.atomic
def load_demo_cameras(*, actor: Actor = DEMO_ACTOR) -> list[Camera]:
    """Create the demo clips (once) and the cameras over them (once); returns the cameras."""
    authorization = Authorization.objects.filter(number=DEMO_AUTHORIZATION["number"]).first()
    if authorization is None:
        issued = timezone.localdate() - timedelta(days=700)
        authorization = services.authorization_create(
            issued_on=issued, actor=actor, **DEMO_AUTHORIZATION
        )
    devices = {}
    for spec in DEMO_DEVICES:
        device = Device.objects.filter(code=spec["code"]).first()
        if device is None:
            device = services.device_create(actor=actor, authorization=authorization, **spec)
        devices[device.code] = device
    cameras = []
    for seed, spec in enumerate(DEMO_CAMERAS, start=1):
        spec = dict(spec)
        device = devices.get(spec.pop("device", ""))
        path = clip_dir() / f"{spec['code'].lower()}.mp4"
        if not path.exists():
            write_clip(path, label=spec["code"], seed=seed)
        camera = Camera.objects.filter(code=spec["code"]).first()
        if camera is None:
            camera = services.camera_create(
                actor=actor,
                stream_url=path.as_uri(),
                status=CameraStatus.ACTIVE,
                commissioned_on=timezone.localdate() - timedelta(days=600),
                retention_days=15,
                authorization=authorization,
                device=device,
                **spec,
            )
        elif device is not None and camera.device_id is None:
            # A demo loaded before devices existed: its camera joins the device.
            camera = services.camera_update(
                camera=camera, actor=actor, device=device, verify_source=False
            )
        _demo_mask(camera)
        cameras.append(camera)
    return cameras


#: A privacy mask on the first demo camera (the dwellings' windows, CSI L251-3), so that the
#: wall and the snapshots show masks burnt in from the first start.
DEMO_MASKS = {
    "CAM-001": [
        {"mode": "software", "points": [[0.0, 0.0], [0.35, 0.0], [0.35, 0.3], [0.0, 0.45]]},
    ],
}


def _demo_mask(camera: Camera) -> None:
    polygons = DEMO_MASKS.get(camera.code)
    supervisor = (
        get_user_model().objects.filter(role="supervisor", is_active=True).order_by("pk").first()
    )
    if not polygons or supervisor is None or camera.mask_versions.exists():
        return
    services.mask_save(
        camera=camera, polygons=polygons, actor=supervisor, note="Fenêtres des logements (démo)"
    )
