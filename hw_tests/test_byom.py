"""Bring your own model: everyday torch modules exported with ``torch.onnx.export`` at several opsets, built and
simulated. Per model and opset: csim == emulator bit for bit, the emulator within the fixed-point tolerance of
ONNX Runtime on the original file, and the build's model.onnx loaded back into torch equal to ONNX Runtime."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from csim_helpers import make_build
from torch_models import export, models

from hashhls.codegen.csim import load_build
from hashhls.codegen.emulator import Emulator
from hashhls.codegen.manifest import BuildManifest
from hashhls.codegen.onnx_to_torch import load_onnx_model

pytestmark = [pytest.mark.csim, pytest.mark.slow]

MODELS = models()
OPSETS = (9, 13, 18)
#: |emulator - float| on these small nets at ap_fixed<16,6,AP_RND_CONV,AP_SAT> (10 fraction bits): rounding of
#: inputs, weights and each result, and hls4ml's 1/64-step sigmoid / 1/128-step tanh tables.
TOLERANCE = 0.02
#: Pooling with padding: opset 9's torch export writes an explicit Pad node, which is not lowered.
SKIP = {("avgpool", 9), ("avgpool_pad", 9)}


def _randomise_batchnorm(module: torch.nn.Module) -> None:
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.3, 0.3)


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("name", sorted(MODELS))
def test_torch_export_builds_and_simulates_bit_exactly(tmp_path, name, opset):
    if (name, opset) in SKIP:
        pytest.skip("opset 9 exports padded average pooling with a Pad node")
    module, shape = MODELS[name]
    torch.manual_seed(1)
    _randomise_batchnorm(module)
    model = export(module, shape, opset)
    onnx.save(model, str(tmp_path / "m.onnx"))
    build = make_build(tmp_path / "b", tmp_path / "m.onnx", reuse_factor=4, strip_softmax=True)
    x = np.random.default_rng(2).uniform(-1, 1, (300, *shape)).astype(np.float32)
    x[:40] *= 40  # saturating inputs too
    emu = Emulator.from_build(build).predict(x)
    np.testing.assert_array_equal(load_build(build).predict(x), emu)

    ref = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x[40:]})[0]
    ref = ref.reshape(len(ref), -1)
    if name == "softmax_out":  # built with --strip-softmax: the logits, whose argmax is the softmax's
        np.testing.assert_array_equal(np.argmax(emu[40:], axis=1), np.argmax(ref, axis=1))
    else:
        assert np.abs(emu[40:] - ref).max() < TOLERANCE
        assert np.abs(ref).max() > 0.05  # a non-degenerate network
        with torch.no_grad():
            back = load_onnx_model(build / "model.onnx")(torch.from_numpy(x[40:])).numpy()
        np.testing.assert_allclose(back.reshape(len(back), -1), ref, rtol=1e-4, atol=1e-5)
    manifest = BuildManifest.read(build)
    assert manifest.n_outputs == ref.shape[1]
