"""The extract's anonymisation: sharp inside the marked areas, unrecognisable outside."""

from __future__ import annotations

import numpy as np

from compliance.extract import blur_outside


def test_blur_keeps_the_marked_area_and_destroys_detail_elsewhere():
    rng = np.random.default_rng(7)
    image = rng.integers(0, 256, size=(240, 320, 3), dtype=np.uint8)
    original = image.copy()
    keep = [[[0.25, 0.25], [0.5, 0.25], [0.5, 0.5], [0.25, 0.5]]]
    blur_outside(image, keep)
    assert np.array_equal(image[70:110, 90:150], original[70:110, 90:150])
    outside = image[150:, 200:].astype(float)
    # Random noise has a high local variance; once blurred it is nearly flat.
    assert (
        np.abs(np.diff(outside, axis=1)).mean()
        < 0.1 * np.abs(np.diff(original[150:, 200:].astype(float), axis=1)).mean()
    )
