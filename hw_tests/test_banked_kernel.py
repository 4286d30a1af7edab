"""The banked (hash version 2) kernel, proven on the generated projects of the bundled models.

For every hashed layer of the bundled MLP and LeNet-5 (both hash version 2):

* the generated firmware calls the banked kernel with ``n_banks`` = the layer's P, reuse factor
  ``ceil(fan_in / P)``, and exactly K weight words;
* the kernel partitions the weight array into ``n_banks`` blocks (``ARRAY_PARTITION ... block
  factor=n_banks``, HLS's layout: P-1 blocks of floor(K/P) words, the last one the rest);
* for EVERY (o, i) of the layer, the address the kernel computes at the (r, lane) where its loop
  visits input i (a probe compiled against the generated firmware runs the kernel's own loop indexing
  and address function) is the spec's bucket and sign, and lies in partition ``lane``: each lane reads
  only its own bank, which is what lets the pipeline run at II=1 with the K words stored once.
"""

from __future__ import annotations

import math
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from csim_helpers import require_gxx

from hashhls.codegen.manifest import BuildManifest
from hashhls.codegen.names import cpp_identifier
from hashhls.codegen.project import BuildConfig, build
from hashhls.frontend.hashing import HashConfig
from hashhls.frontend.zoo import default_checkpoint, lenet5_checkpoint

pytestmark = pytest.mark.csim

PROBE = r"""
#include <cstdio>
#include "defines.h"
#include "parameters.h"

// The kernel's loop (hashed_dense_banked / hashed_conv2d_banked_cl): for each output o, step r and lane l,
// input i = hashhls_banked_input(r, l) and, if i < fan_in, the address of virtual weight (o, i).
template <typename C> void probe(unsigned rows, unsigned fan_in, std::FILE *out) {
    for (unsigned o = 0; o < rows; o++)
        for (unsigned r = 0; r < C::reuse_factor; r++)
            for (unsigned l = 0; l < C::n_banks; l++) {
                const unsigned i = nnet::hashhls_banked_input<C>(r, l);
                if (i >= fan_in) continue;
                uint32_t bucket;
                bool negative;
                nnet::hashhls_v2_bucket_sign<C>((uint32_t)(o * fan_in + i), l, bucket, negative);
                const int rec[5] = {(int)o, (int)i, (int)l, (int)bucket, negative ? -1 : 1};
                std::fwrite(rec, sizeof(int), 5, out);
            }
}

int main() {
%CALLS%
    return 0;
}
"""


@pytest.fixture(scope="module", params=["mnist-mlp", "lenet5"])
def project(request, tmp_path_factory) -> Path:
    ckpt = default_checkpoint() if request.param == "mnist-mlp" else lenet5_checkpoint()
    out = tmp_path_factory.mktemp(request.param) / "build"
    build(BuildConfig(output_dir=out, model=ckpt, board="pynq-z2", compile_csim=False, progress=False))
    return out


def _hashed_layers(build_dir: Path) -> list[tuple[str, HashConfig, str, str, str]]:
    """(layer, spec hash, kernel, config struct, weight array) of each hashed layer, from manifest and firmware."""
    manifest = BuildManifest.read(build_dir)
    top = (build_dir / "hls" / "firmware" / "myproject.cpp").read_text()
    calls = {m[4]: (m[1], m[2], m[3]) for m in re.finditer(
        r"nnet::(hashed_\w+)<\w+, \w+, (config\d+)>\(\w+, \w+, (w\d+), b\d+\); // (\w+)", top)}
    out = []
    for info in manifest.layers:
        if info.buckets is None:
            continue
        win = info.attrs.get("window")
        shape = (info.n_out, info.n_in) if win is None else (win["out_c"], win["in_c"], win["kh"], win["kw"])
        h = HashConfig(shape, info.seed, info.buckets, info.attrs.get("hash_version", 1), info.attrs.get("banks", 1))
        out.append((info.name, h, *calls[cpp_identifier(info.name)]))  # the C++ names layers onnx_<name>
    return out


def test_bundled_models_are_hash_version_2(project):
    layers = _hashed_layers(project)
    assert layers and all(h.version == 2 and h.banks > 1 for _, h, *_ in layers[:-1])
    assert all(h.version == 2 for _, h, *_ in layers)


def test_banked_kernel_config_and_partition_pragmas(project):
    fw = project / "hls" / "firmware"
    params = (fw / "parameters.h").read_text()
    kernel_src = re.sub(r"//[^\n]*", "", (fw / "nnet_utils" / "nnet_hashed.h").read_text())
    for name, h, kernel, config, weights in _hashed_layers(project):
        assert kernel in ("hashed_dense_banked", "hashed_conv2d_banked_cl"), name
        body = re.search(rf"struct {config} : nnet::hashed_\w+_config \{{(.*?)\n\}};", params, re.S)[1]
        value = {k: int(v) for k, v in re.findall(r"static const unsigned (\w+) = (\d+)u?;", body)}
        assert value["hash_version"] == 2 and value["n_banks"] == h.banks and value["n_buckets"] == h.buckets, name
        assert value["reuse_factor"] == math.ceil(h.fan_in / h.banks), name
        header = (fw / "weights" / f"{weights}.h").read_text()
        assert re.findall(rf"\b{weights}\[(\d+)\]", header) == [str(h.buckets)] * 2, name  # K words, no more
        # the kernel function: banks from the config, the K-word array partitioned into that many blocks
        fn = re.search(rf"void {kernel}\(data_T data.*?\n}}\n", kernel_src, re.S)[0]
        assert "static const unsigned n_banks = CONFIG_T::n_banks;" in fn
        assert re.search(r"#pragma HLS ARRAY_PARTITION variable=weights block factor=n_banks\n", fn)
        assert re.search(r"#pragma HLS PIPELINE II=1\n", fn)
        assert "hashhls_banked_input<CONFIG_T>(r, l)" in fn and "hashhls_v2_bucket_sign<CONFIG_T>" in fn


def _probe(project: Path, layers, tmp: Path) -> np.ndarray:
    require_gxx()
    fw = project / "hls" / "firmware"
    calls = []
    for n, (name, h, _, config, _) in enumerate(layers):
        calls.append(f'    {{ std::FILE *f = std::fopen("layer{n}.bin", "wb"); probe<{config}>({h.shape[0]}, '
                     f'{h.fan_in}, f); std::fclose(f); }}')
    (tmp / "probe.cpp").write_text(PROBE.replace("%CALLS%", "\n".join(calls)))
    subprocess.run(["g++", "-std=c++11", "-O1", "-I", str(fw / "ap_types"), "-I", str(fw), "probe.cpp", "-o", "probe"],
                   cwd=tmp, check=True, capture_output=True)
    subprocess.run([str(tmp / "probe")], cwd=tmp, check=True)
    return [np.fromfile(tmp / f"layer{n}.bin", dtype=np.int32).reshape(-1, 5) for n in range(len(layers))]


def test_every_weight_lies_in_the_bank_of_its_lane(project, tmp_path):
    layers = _hashed_layers(project)
    for (name, h, *_), rec in zip(layers, _probe(project, layers, tmp_path)):
        o, i, lane, bucket, sign = rec.T
        # the loop visits every (o, i) exactly once
        assert len(rec) == h.n_virtual and len(np.unique(o * h.fan_in + i)) == h.n_virtual, name
        # ... and its address is the spec's
        spec_bucket, spec_sign = (t.reshape(h.shape[0], -1) for t in h.tables())
        np.testing.assert_array_equal(bucket, spec_bucket[o, i], err_msg=name)
        np.testing.assert_array_equal(sign, spec_sign[o, i], err_msg=name)
        # ... in the HLS block partition the lane reads: P-1 blocks of floor(K/P) words, the last the rest
        block = h.buckets // h.banks
        partition = np.minimum(bucket // block, h.banks - 1)
        np.testing.assert_array_equal(partition, lane, err_msg=name)
        assert set(np.unique(lane)) == set(range(h.banks)), name  # every lane works
