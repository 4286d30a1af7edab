"""The precision guard of `hashhls build`: fixed (emulator) vs float on the calibration images."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import pytest

from hashhls.codegen.project import BuildConfig, build
from hashhls.core.errors import PrecisionError
from hashhls.frontend.zoo import default_checkpoint


@pytest.fixture(scope="module")
def gi_checkpoint(tmp_path_factory):
    """The quick tour's GI case on the bundled model: GI-sign 0.1 pushes activations past ap_fixed<16,6>."""
    from hashhls.frontend.checkpoint import load_checkpoint, save_checkpoint
    from hashhls.frontend.gi import GIConfig, GIMode, apply_gi

    model, cfg = load_checkpoint(default_checkpoint())
    gi = GIConfig(GIMode.SIGN, 0.1)
    out = tmp_path_factory.mktemp("gi") / "mlp-gi.pt"
    save_checkpoint(out, apply_gi(model, gi, None), replace(cfg, gi=gi, gi_layers=None))  # hash version, banks kept
    return out


def _build(out, model, **kw):
    return build(BuildConfig(output_dir=out, model=model, board="none", compile_csim=False, progress=False, **kw))


def test_the_gi_case_at_default_precision_warns_naming_the_layer(tmp_path, gi_checkpoint, caplog):
    """Before: 81.5% clean on csim vs 95.0% float and no warning."""
    _build(tmp_path / "b", gi_checkpoint)
    warning = " ".join(r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    assert "precision guard" in warning and "--precision auto" in warning and "hashed_linear_4" in warning
    summary = (tmp_path / "b" / "summary.md").read_text()
    assert "## Precision check" in summary and "**Warning:**" in summary
    agreement = float(summary.split("agreement **")[1].split("%")[0])
    assert agreement < 99.0


def test_strict_makes_it_an_error_and_writes_nothing(tmp_path, gi_checkpoint):
    with pytest.raises(PrecisionError, match="hashed_linear_4"):
        _build(tmp_path / "b", gi_checkpoint, strict=True)
    assert not (tmp_path / "b").exists() and not list(tmp_path.iterdir())


def test_auto_precision_passes_the_guard(tmp_path, gi_checkpoint, caplog):
    _build(tmp_path / "b", gi_checkpoint, precision="auto", strict=True)
    summary = (tmp_path / "b" / "summary.md").read_text()
    assert "No warning" in summary and not [r for r in caplog.records if r.levelname == "WARNING"]


def test_the_bundled_model_passes_at_default_precision(tmp_path):
    _build(tmp_path / "b", None, strict=True)
    summary = (tmp_path / "b" / "summary.md").read_text()
    assert "No warning" in summary and "0 of 300,000" in summary


def test_models_that_are_not_mnist_sized_are_skipped_with_a_note(tmp_path):
    import onnx
    from onnx_models import dense, mlp_onnx, relu

    path = tmp_path / "small.onnx"
    onnx.save(mlp_onnx([dense(48, 16), relu(), dense(16, 4)], input_shape=(3, 4, 4)), str(path))
    _build(tmp_path / "b", path, strict=True)
    summary = (tmp_path / "b" / "summary.md").read_text()
    assert "Precision guard not checked" in summary and "784" in summary


def test_strict_from_the_command_line(tmp_path, gi_checkpoint):
    r = subprocess.run([sys.executable, "-m", "hashhls", "build", gi_checkpoint, "--board", "none", "--no-csim",
                        "--strict", "-o", tmp_path / "b"], capture_output=True, text=True)
    assert r.returncode == 2 and "precision guard" in r.stderr and "Traceback" not in r.stderr
    assert r.stderr.strip().count("\n") == 0 and not (tmp_path / "b").exists()
