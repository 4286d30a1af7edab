"""The build summary a user reads: the terminal table fits 100 columns and begins with the fit and the
ratios against dense; "stored words" means the same in the build summary as in `hashhls train`; names from a
model file reach the terminal escaped."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from hashhls.cli.main import main
from hashhls.codegen.project import BuildConfig, build
from hashhls.codegen.summary import TERMINAL_WIDTH, load_summary, terminal_safe
from hashhls.frontend.checkpoint import load_checkpoint
from hashhls.frontend.zoo import default_checkpoint, stored_words


@pytest.fixture(scope="module")
def default_nocsim(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("summary") / "build"
    build(BuildConfig(output_dir=out, board="pynq-z2", compile_csim=False, progress=False))
    return out


def test_terminal_summary_fits_100_columns_and_starts_with_the_verdict(default_nocsim):
    summary = load_summary(default_nocsim)
    text = summary.terminal()
    lines = text.splitlines()
    assert max(len(ln) for ln in lines) <= TERMINAL_WIDTH
    b, r = summary.built, summary.board.resources
    assert lines[0] == (f"Fits the pynq-z2 (estimate): BRAM_18K {b.bram_18k}/{r.bram_18k} "
                        f"({100 * b.bram_18k / r.bram_18k:.0f}%), DSP {b.dsp}/{r.dsp} ({100 * b.dsp / r.dsp:.0f}%), "
                        f"LUT {b.lut:,}/{r.lut:,} ({100 * b.lut / r.lut:.0f}%).")
    d = summary.dense_total  # the dense design given the same DSPs
    assert d is not None and d.dsp <= b.dsp
    assert lines[1].startswith(f"vs dense at the same {b.dsp} DSPs: latency {b.latency_cycles / d.latency_cycles:.2f}x")
    assert f"weight memory {b.weight_words / d.weight_words:.3f}x" in lines[1]
    # one row per weighted layer, then the total
    names = [row.name for row in summary.rows]
    body = [ln for ln in lines if ln.split() and ln.split()[0] in names + ["total"]]
    assert [ln.split()[0] for ln in body] == names + ["total"]
    # summary.md opens with the same headline
    md = (default_nocsim / "summary.md").read_text().splitlines()
    assert [ln.rstrip() for ln in md[2:5]] == summary.headline()[:3]


def test_a_design_that_does_not_fit_says_so(default_nocsim):
    summary = load_summary(default_nocsim)
    tiny = dataclasses.replace(summary.board, resources=dataclasses.replace(summary.board.resources, dsp=10))
    assert dataclasses.replace(summary, board=tiny).headline()[0].startswith("Does NOT fit the pynq-z2")


def test_stored_words_mean_the_same_in_train_and_build(default_nocsim):
    model, _ = load_checkpoint(default_checkpoint())
    words = stored_words(model)
    summary = load_summary(default_nocsim)
    assert (summary.stored.weights, summary.stored.biases) == (words.weights, words.biases)
    assert words.weights == sum(r.stored.weights for r in summary.rows) == 29400 + 3750 + 125  # K per layer
    assert words.biases == 300 + 100 + 10
    assert f"Stored: {words.weights:,} weights + {words.biases:,} biases = {words.total:,} words" in \
        summary.headline()[2]


def test_the_build_command_prints_the_compact_summary(tmp_path, capsys):
    assert main(["build", "--board", "pynq-z2", "--no-csim", "-o", str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Fits the pynq-z2 (estimate)")
    assert "README.md" in out.splitlines()[-1] and "summary.md" in out.splitlines()[-1]
    assert max(len(ln) for ln in out.splitlines()[:-1]) <= TERMINAL_WIDTH


def test_names_reach_the_terminal_escaped():
    assert terminal_safe("evil\x1b[2J\x07name.onnx") == "evil\\x1b[2J\\x07name.onnx"
    assert terminal_safe("ok-name_1.onnx") == "ok-name_1.onnx"


def test_a_graph_without_weights_has_no_dense_design_to_compare(tmp_path):
    import torch
    from torch import nn

    onnx_path = tmp_path / "pool.onnx"
    torch.onnx.export(nn.Sequential(nn.MaxPool2d(2), nn.Flatten()).eval(), (torch.zeros(1, 1, 8, 8),),
                      str(onnx_path), dynamo=False, opset_version=13)
    build(BuildConfig(output_dir=tmp_path / "b", model=onnx_path, precision="ap_fixed<16,6,AP_RND_CONV,AP_SAT>",
                      compile_csim=False, progress=False))
    s = load_summary(tmp_path / "b")
    assert s.rows == () and s.stored.total == 0
    assert "No weighted layer" in s.headline()[1]
    assert "No weighted layer" in (tmp_path / "b" / "summary.md").read_text()
