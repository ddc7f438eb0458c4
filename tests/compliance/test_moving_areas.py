"""Areas of an access-request extract that follow a person: key positions interpolated in time.

Unit tests of the interpolation and of the checks (the kept-share bound at every key and
between keys), then the extract itself on footage the recorder really wrote: a checkerboard
filmed still, a kept area walking from left to right with a blurred strip riding on it; each
decoded picture is sharp where the areas stand at its own time, blurred elsewhere.
"""

from __future__ import annotations

import io
import json

import av
import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.roles import Role
from audit.models import AuditEvent
from compliance import areas, extract
from tests.compliance.footage import FPS, checkerboard_image, recorded_request, sharpness
from tests.factories import HabilitationFactory, UserFactory


def rect(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def near(points: list[list[float]], expected: list[list[float]]) -> bool:
    return bool(np.allclose(np.asarray(points), np.asarray(expected)))


WALK = {
    "keys": [
        {"t": 1.0, "points": rect(0, 0, 0.2, 0.2)},
        {"t": 3.0, "points": rect(0.4, 0.2, 0.6, 0.4)},
    ]
}


# --- Interpolation --------------------------------------------------------------------------


def test_a_moving_area_stands_between_its_keys_in_proportion():
    assert near(areas.position_at(WALK, 2.0), rect(0.2, 0.1, 0.4, 0.3))
    assert near(areas.position_at(WALK, 1.5), rect(0.1, 0.05, 0.3, 0.25))
    assert areas.position_at(WALK, 3.0) == rect(0.4, 0.2, 0.6, 0.4)


def test_before_the_first_key_and_after_the_last_the_area_stands_still():
    assert areas.position_at(WALK, 0.0) == rect(0, 0, 0.2, 0.2)
    assert areas.position_at(WALK, -5.0) == rect(0, 0, 0.2, 0.2)
    assert areas.position_at(WALK, 3.5) == rect(0.4, 0.2, 0.6, 0.4)
    assert areas.position_at(WALK, 1e9) == rect(0.4, 0.2, 0.6, 0.4)


def test_a_still_polygon_is_a_one_key_area_and_stays_valid():
    still = rect(0.1, 0.1, 0.3, 0.3)
    assert areas.keys_of(still) == [(0.0, still)]
    assert areas.position_at(still, 42.0) == still
    assert areas.check_keep_areas([still]) == [still]
    assert areas.positions_at([still, WALK], 2.0)[0] == still


def test_three_keys_follow_a_turn():
    turn = {
        "keys": [
            {"t": 0, "points": rect(0, 0, 0.1, 0.1)},
            {"t": 10, "points": rect(0.5, 0, 0.6, 0.1)},
            {"t": 20, "points": rect(0.5, 0.5, 0.6, 0.6)},
        ]
    }
    assert near(areas.position_at(turn, 5), rect(0.25, 0, 0.35, 0.1))
    assert near(areas.position_at(turn, 15), rect(0.5, 0.25, 0.6, 0.35))


# --- Checks ---------------------------------------------------------------------------------


def test_keys_are_stored_rounded_and_checked_against_the_period():
    clean = areas.check_keep_areas([WALK], duration=3)
    assert clean == [WALK]
    with pytest.raises(ValidationError) as refused:
        areas.check_keep_areas([WALK], duration=2.5)
    assert refused.value.message_dict["keep_areas"] == [
        "Zone 1 : une position clé tombe hors de la période demandée."
    ]


@pytest.mark.parametrize(
    ("area", "message"),
    [
        (
            {
                "keys": [
                    {"t": 2, "points": rect(0, 0, 0.1, 0.1)},
                    {"t": 1, "points": rect(0, 0, 0.1, 0.1)},
                ]
            },
            "Zone 1 : les positions clés doivent se suivre dans le temps.",
        ),
        (
            {
                "keys": [
                    {"t": 0, "points": rect(0, 0, 0.1, 0.1)},
                    {"t": 1, "points": [[0, 0], [0.1, 0], [0.1, 0.1]]},
                ]
            },
            "Zone 1 : chaque position clé doit avoir le même nombre de sommets, pour que la zone "
            "se déplace de l'une à l'autre.",
        ),
        (
            {"keys": [{"t": "soon", "points": rect(0, 0, 0.1, 0.1)}]},
            "Zone 1 : chaque position clé donne son instant « t » (secondes depuis le début de la "
            "période) et ses sommets « points ».",
        ),
        ({"keys": []}, "Zone 1 : une zone mobile est une liste de positions clés."),
        (
            {"keys": [{"t": 0, "points": rect(0, 0, 1.5, 0.1)}]},
            "Le point 2 du polygone n° 1 est hors de l'image : x et y vont de 0 à 1.",
        ),
    ],
)
def test_malformed_moving_areas_are_refused_in_words(area, message):
    with pytest.raises(ValidationError) as refused:
        areas.check_blur_areas([area], duration=10)
    assert refused.value.message_dict["blur_areas"] == [message]


def test_the_kept_bound_holds_at_every_key(settings):
    settings.COMPLIANCE_EXTRACT_MAX_KEPT_PERCENT = 25
    grows = {
        "keys": [{"t": 0, "points": rect(0, 0, 0.2, 0.2)}, {"t": 4, "points": rect(0, 0, 0.6, 0.6)}]
    }
    with pytest.raises(ValidationError) as refused:
        areas.check_keep_areas([grows], duration=4)
    [said] = refused.value.message_dict["keep_areas"]
    assert said.startswith("Les zones laissées nettes couvrent 36,0 % de l'image")
    assert said.endswith("(À 4,0 s du début de la période.)")


def test_the_kept_bound_holds_between_keys_too(settings):
    # A thin horizontal band turning into a thin vertical one: 10 % at both keys, but the
    # corners pass through a 55 % x 55 % square (30 %) half way.
    settings.COMPLIANCE_EXTRACT_MAX_KEPT_PERCENT = 25
    turning = {
        "keys": [
            {"t": 0, "points": [[0, 0.45], [1, 0.45], [1, 0.55], [0, 0.55]]},
            {"t": 2, "points": [[0.45, 0], [0.55, 0], [0.55, 1], [0.45, 1]]},
        ]
    }
    assert areas.kept_share([k["points"] for k in turning["keys"]][:1]) == pytest.approx(
        0.1, abs=0.002
    )
    with pytest.raises(ValidationError) as refused:
        areas.check_keep_areas([turning], duration=2)
    [said] = refused.value.message_dict["keep_areas"]
    assert "couvrent 30,3 % de l'image" in said and "(À 1,0 s du début" in said
    assert areas.kept_percent([turning]) == 30.3


def test_the_union_is_measured_with_the_other_areas_where_they_stand_then(settings):
    settings.COMPLIANCE_EXTRACT_MAX_KEPT_PERCENT = 25
    still = rect(0, 0, 0.4, 0.4)  # 16 %
    # 16 % too, on the still area at 0 s, beside it at 2 s (32 % together).
    leaving = {"keys": [{"t": 0, "points": still}, {"t": 2, "points": rect(0.6, 0.6, 1, 1)}]}
    assert areas.kept_percent([still, leaving]) == 32.0
    with pytest.raises(ValidationError):
        areas.check_keep_areas([still, leaving], duration=2)
    assert areas.check_keep_areas([leaving], duration=2) == [leaving]


# --- The extract applies each picture's positions -------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_extract_blurs_around_areas_that_move_with_the_requester(tmp_path, dpo, signed_in):
    request = recorded_request(tmp_path, dpo)
    camera = request.footage.get().camera
    agent = UserFactory(role=Role.SUPERVISOR)
    HabilitationFactory(
        user=agent, all_cameras=True, can_live=True, can_replay=True, can_extract=True
    )
    # The requester walks from the left edge (0 s) to the right edge (2 s); a third party
    # rides on the top of the kept area, blurred although inside it.
    keep = {
        "keys": [
            {"t": 0, "points": rect(0, 0.2, 0.3, 0.8)},
            {"t": 2, "points": rect(0.7, 0.2, 1, 0.8)},
        ]
    }
    blur = {
        "keys": [
            {"t": 0, "points": rect(0, 0.2, 0.3, 0.4)},
            {"t": 2, "points": rect(0.7, 0.2, 1, 0.4)},
        ]
    }

    response = signed_in(agent).post(
        reverse("compliance:extract_build", args=[request.pk, camera.code]),
        {"keep_areas": json.dumps([keep]), "blur_areas": json.dumps([blur])},
        follow=True,
    )
    assert [str(m) for m in response.context["messages"]] == [
        f"Extrait flouté de la caméra {camera.code} prêt ; le délégué à la protection des "
        "données doit le valider avant sa remise."
    ]
    row = request.footage.get()
    assert row.keep_areas == [keep] and row.blur_areas == [blur]

    with av.open(io.BytesIO(b"".join(extract.extract_stream(row)))) as container:
        pictures = [
            (float(f.time), f.to_ndarray(format="rgb24")) for f in container.decode(video=0)
        ]
    assert len(pictures) >= 2 * FPS - 1
    source = sharpness(checkerboard_image(), 0, 1, 0, 1)
    for t, image in pictures:
        left = 0.35 * t  # the kept area's left edge at this picture's time
        sharp = sharpness(image, left + 0.04, left + 0.26, 0.45, 0.75)
        ridden = sharpness(image, left + 0.04, left + 0.26, 0.22, 0.38)
        # Where the area stood at the other end of the walk: blurred.
        away = (0.74, 0.96) if left < 0.35 else (0.04, 0.26)
        elsewhere = sharpness(image, *away, 0.45, 0.75)
        assert sharp > 0.5 * source, (t, sharp, source)
        assert ridden < 0.1 * source, (t, ridden, source)
        assert elsewhere < 0.1 * source, (t, elsewhere, source)
    built = AuditEvent.objects.get(action="access_request.extract_built")
    assert built.details["keep_areas"] == [keep] and built.details["blur_areas"] == [blur]
    assert built.details["kept_percent"] == 18.0
