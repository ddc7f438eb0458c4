"""The kept area of an access-request extract: measured as a union, bounded by the setting."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from compliance.areas import check_keep_areas, kept_percent


def rect(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def test_overlapping_areas_count_once_and_disjoint_ones_add_up():
    assert kept_percent([rect(0, 0, 0.5, 0.4)]) == 20.0
    assert kept_percent([rect(0, 0, 0.5, 0.4), rect(0, 0, 0.5, 0.4)]) == 20.0
    assert kept_percent([rect(0, 0, 0.5, 0.4), rect(0.25, 0, 0.75, 0.4)]) == 30.0
    assert kept_percent([rect(0, 0, 0.1, 0.1), rect(0.9, 0.9, 1, 1)]) == 2.0
    # A self-crossing "bow tie" keeps its two triangles, not the rectangle around them.
    assert kept_percent([[[0, 0], [1, 1], [1, 0], [0, 1]]]) == pytest.approx(50.0, abs=0.2)


def test_the_bound_is_inclusive_and_set_by_the_setting(settings):
    settings.COMPLIANCE_EXTRACT_MAX_KEPT_PERCENT = 25
    assert check_keep_areas([rect(0, 0, 0.5, 0.5)]) == [rect(0, 0, 0.5, 0.5)]
    with pytest.raises(ValidationError) as refused:
        check_keep_areas([rect(0, 0, 0.5, 0.52)])
    assert refused.value.message_dict["keep_areas"] == [
        "Les zones laissées nettes couvrent 26,0 % de l'image : au plus 25 % sont permis. "
        "Ne marquez que la silhouette du demandeur, le reste de la scène doit être flouté."
    ]
    settings.COMPLIANCE_EXTRACT_MAX_KEPT_PERCENT = 30
    assert check_keep_areas([rect(0, 0, 0.5, 0.52)])
