"""The fixed-point twin IS the build: twin forward == emulator == csim, bit for bit, on all 10,000 MNIST test images,
for the default, an auto-precision and a per-layer-override build of the bundled MLP and LeNet-5; and its
straight-through gradients are useful (FGSM crafted on the twin fools csim at least as often as FGSM crafted on
the float model)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from csim_helpers import make_build

from hashhls.adversarial.attacks import make_attack
from hashhls.adversarial.twin import FixedPointTwin
from hashhls.codegen.csim import load_build
from hashhls.codegen.emulator import Emulator
from hashhls.codegen.project import plan_in_memory
from hashhls.frontend.checkpoint import load_checkpoint
from hashhls.frontend.zoo import default_checkpoint, lenet5_checkpoint

pytestmark = [pytest.mark.csim, pytest.mark.slow]

MODELS = {"mnist-mlp": default_checkpoint, "lenet5": lenet5_checkpoint}


def _override(ckpt) -> list[str]:
    """Per-layer types on the second weighted layer: a wider result and a narrower weight than the default."""
    manifest, _ = plan_in_memory(ckpt)
    weighted = [layer.name for layer in manifest.layers if "weight" in layer.precision]
    return [f"{weighted[1]}.result=ap_fixed<18,8>", f"{weighted[1]}.weight=ap_fixed<12,3>",
            f"{weighted[0]}=ap_fixed<16,7>"]


PRECISIONS = {"default": {}, "auto": {"precision": "auto"}, "per-layer": "override"}


@pytest.fixture(scope="module", params=[(m, p) for m in MODELS for p in PRECISIONS], ids=lambda t: f"{t[0]}-{t[1]}")
def built(request, tmp_path_factory):
    model, prec = request.param
    ckpt = MODELS[model]()
    kw = {"layer_precision": _override(ckpt)} if PRECISIONS[prec] == "override" else dict(PRECISIONS[prec])
    return model, prec, ckpt, make_build(tmp_path_factory.mktemp(f"{model}-{prec}") / "build", ckpt, **kw)


def test_twin_equals_emulator_equals_csim_on_all_test_images(built, mnist_test, request):
    model, prec, _, build_dir = built
    x, _ = mnist_test
    twin = FixedPointTwin.from_build(build_dir)
    manifest = twin.manifest
    if prec != "default":  # the twin computes the build's own types, not the default everywhere
        assert any("ap_fixed<16,6," not in t for layer in manifest.layers for t in layer.precision.values())
    with torch.no_grad():
        got = np.concatenate([twin(torch.from_numpy(x[i:i + 2500])).numpy() for i in range(0, len(x), 2500)])
    emu = Emulator.from_build(build_dir).predict(x)
    np.testing.assert_array_equal(got, emu)  # twin == emulator
    hw = load_build(build_dir).predict(x)
    np.testing.assert_array_equal(emu, hw)  # emulator == csim
    # with gradients recorded, the forward values are the same bits
    xg = torch.from_numpy(x[:200]).requires_grad_(True)
    np.testing.assert_array_equal(twin(xg).detach().numpy(), hw[:200])


def test_gradients_on_the_twin_fool_csim_at_least_as_often_as_float_gradients(built, mnist_test):
    model, prec, ckpt, build_dir = built
    if prec != "auto":
        pytest.skip("one precision per model is enough for the gradient check")
    x, y = (torch.from_numpy(a[:400]) for a in mnist_test)
    twin = FixedPointTwin.from_build(build_dir)
    float_model, _ = load_checkpoint(ckpt)
    hw = load_build(build_dir)

    def csim_success(x_adv):
        clean = hw.predict(x.numpy()).argmax(1) == y.numpy()
        fooled = hw.predict(x_adv.numpy()).argmax(1) != y.numpy()
        return (clean & fooled).sum() / clean.sum()

    on_twin = csim_success(make_attack("fgsm", twin, eps=0.1)(x, y))
    on_float = csim_success(make_attack("fgsm", float_model, eps=0.1)(x, y))
    g = torch.Generator().manual_seed(0)
    noise = torch.clamp(x + 0.1 * torch.sign(torch.randn(x.shape, generator=g)), 0, 1)
    print(f"\n{model} {prec}: FGSM 0.1 success on csim, crafted on the twin {on_twin:.1%}, on float {on_float:.1%}, "
          f"sign noise {csim_success(noise):.1%}")
    assert on_twin >= on_float - 0.01
    assert on_twin > csim_success(noise) + 0.2
