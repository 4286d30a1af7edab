"""The ensemble crafted on a build's fixed-point twin replays through csim exactly as the twin predicted."""

from __future__ import annotations

import numpy as np
import pytest

import hashhls


@pytest.mark.slow
def test_autoattack_on_the_twin_replays_through_csim(default_build):
    adv = hashhls.attack(None, "autoattack", eps=[0.05], on="fixed", build=default_build, n=8, steps=5,
                         square_queries=20)
    assert adv.attack == "autoattack" and adv.crafted_on == "fixed"
    report = hashhls.replay(default_build, [adv])
    (res,) = report.results
    by = {t.name: t for t in res.targets}
    assert by["csim"].pred_adv == by["emulator"].pred_adv  # bit-exact twins
    twin_rate, eligible = adv.success[0]
    assert eligible == by["csim"].eligible[0]
    assert by["csim"].success_rate[0] == pytest.approx(twin_rate)  # what the twin saw is what csim does
    assert np.abs(adv.x_adv - adv.x_clean).max() <= 0.05 + 1e-6
