"""The C++ hash in templates/nnet_hashed.h against the committed spec vectors (docs/hash-test-vectors.json)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
HLS4ML_TEMPLATES = Path(__import__("hls4ml").__file__).parent / "templates" / "vivado"

DRIVER = r"""
#include <cstdio>
#include "nnet_hashed.h"

// stdin: lines "seed K n f0 f1 ...", stdout: "key" then n lines "bucket sign"
int main() {
    unsigned long seed, k, n;
    while (std::scanf("%lu %lu %lu", &seed, &k, &n) == 3) {
        std::printf("%u\n", nnet::hashhls_layer_key((uint32_t)seed));
        const uint32_t key = nnet::hashhls_layer_key((uint32_t)seed);
        for (unsigned long j = 0; j < n; j++) {
            unsigned long f;
            if (std::scanf("%lu", &f) != 1) return 1;
            uint32_t bucket;
            bool negative;
            nnet::hashhls_bucket_sign((uint32_t)f, key, (uint32_t)k, bucket, negative);
            std::printf("%u %d\n", bucket, negative ? -1 : 1);
        }
    }
    return 0;
}
"""

pytestmark = pytest.mark.csim


@pytest.fixture(scope="module")
def hash_driver(tmp_path_factory) -> Path:
    if shutil.which("g++") is None:
        pytest.fail("g++ is required for the C++ hash test")
    d = tmp_path_factory.mktemp("hash_cpp")
    (d / "driver.cpp").write_text(DRIVER)
    exe = d / "driver"
    subprocess.run(
        ["g++", "-std=c++11", "-O1", "-I", str(REPO / "templates"), "-I", str(HLS4ML_TEMPLATES / "nnet_utils"),
         "-I", str(HLS4ML_TEMPLATES / "ap_types"), "driver.cpp", "-o", str(exe)],
        cwd=d, check=True, capture_output=True, text=True,
    )
    return exe


@pytest.fixture(scope="module")
def vectors() -> dict:
    return json.loads((REPO / "docs" / "hash-test-vectors.json").read_text())


def test_cpp_hash_matches_every_vector_case(hash_driver, vectors):
    cases = vectors["cases"]
    assert len(cases) >= 10
    stdin = "".join(f"{c['seed']} {c['buckets']} {len(c['index'])} {' '.join(map(str, c['index']))}\n"
                    for c in cases)
    out = subprocess.run([str(hash_driver)], input=stdin, capture_output=True, text=True, check=True,
                         cwd=hash_driver.parent).stdout.split("\n")
    pos = 0
    for c in cases:
        assert int(out[pos]) == c["key"], f"key for seed {c['seed']}"
        pos += 1
        got = [tuple(map(int, line.split())) for line in out[pos:pos + len(c["index"])]]
        pos += len(c["index"])
        assert [b for b, _ in got] == c["bucket"], f"buckets for case {c['shape']} seed {c['seed']} K {c['buckets']}"
        assert [s for _, s in got] == c["sign"], f"signs for case {c['shape']} seed {c['seed']} K {c['buckets']}"


def test_cpp_fmix32_matches_vectors(tmp_path, vectors):
    src = tmp_path / "fmix.cpp"
    src.write_text('#include <cstdio>\n#include "nnet_hashed.h"\nint main() { unsigned long x; '
                   'while (std::scanf("%lu", &x) == 1) std::printf("%u\\n", nnet::hashhls_fmix32((uint32_t)x)); }\n')
    subprocess.run(["g++", "-std=c++11", "-I", str(REPO / "templates"), "-I", str(HLS4ML_TEMPLATES / "nnet_utils"),
                    "-I", str(HLS4ML_TEMPLATES / "ap_types"), "fmix.cpp", "-o", "fmix"], cwd=tmp_path, check=True)
    pairs = vectors["fmix32"]
    out = subprocess.run([str(tmp_path / "fmix")], input=" ".join(str(x) for x, _ in pairs), capture_output=True,
                         text=True, check=True, cwd=tmp_path).stdout.split()
    assert [int(v) for v in out] == [e for _, e in pairs]


# -- hash version 2 ----------------------------------------------------------------------------------------
#
# The kernels call hashhls_v2_bucket_sign<CONFIG_T>(f, lane) with the layer's constants in a config struct, as
# the generated firmware does; the driver below gets one such struct per vector case (the round keys from the
# vectors, whose C++ derivation hashhls_v2_round_key is checked separately) and prints every vector's answer.

def _v2_driver(vectors: dict) -> str:
    configs, calls = [], []
    for n, c in enumerate(vectors["cases"]):
        keys = c["round_keys"]
        configs.append(
            f"struct case{n} : nnet::hashed_dense_config {{ static const unsigned n_buckets = {c['buckets']}; "
            f"static const unsigned n_banks = {c['banks']}; static const unsigned hash_width = {c['width']}; "
            + " ".join(f"static const unsigned round_key{j} = {k}u;" for j, k in enumerate(keys)) + " };")
        fan_in = int(np.prod(c["shape"])) // c["shape"][0]
        idx = ", ".join(f"{f}u" for f in c["index"])
        calls.append(
            f"  {{ static const uint32_t f[] = {{{idx}}};\n"
            f"    for (unsigned j = 0; j < sizeof(f) / sizeof(f[0]); j++) {{ uint32_t b; bool neg;\n"
            f"      nnet::hashhls_v2_bucket_sign<case{n}>(f[j], (f[j] % {fan_in}u) % {c['banks']}u, b, neg);\n"
            f"      std::printf(\"%u %d\\n\", b, neg ? -1 : 1); }}\n"
            f"    for (unsigned j = 0; j < 4; j++) std::printf(\"%u \", nnet::hashhls_v2_round_key({c['seed']}u, "
            f"{c['width']}, j));\n    std::printf(\"\\n\"); }}")
    mixes = [f'  std::printf("%u\\n", nnet::hashhls_v2_mix<{w}>({x}u, '
             + ", ".join(f"nnet::hashhls_v2_round_key({s}u, {w}, {j})" for j in range(4)) + "));"
             for w, s, x, _ in vectors["mix"]]
    return ("#include <cstdio>\n#include \"nnet_hashed.h\"\n" + "\n".join(configs) + "\nint main() {\n"
            + "\n".join(calls) + "\n" + "\n".join(mixes) + "\n  return 0;\n}\n")


def test_cpp_v2_address_unit_matches_every_vector_case(tmp_path):
    vectors = json.loads((REPO / "docs" / "hash-test-vectors-v2.json").read_text())
    (tmp_path / "v2.cpp").write_text(_v2_driver(vectors))
    subprocess.run(["g++", "-std=c++11", "-O1", "-I", str(REPO / "templates"), "-I", str(HLS4ML_TEMPLATES / "nnet_utils"),
                    "-I", str(HLS4ML_TEMPLATES / "ap_types"), "v2.cpp", "-o", "v2"], cwd=tmp_path, check=True,
                   capture_output=True, text=True)
    lines = subprocess.run([str(tmp_path / "v2")], capture_output=True, text=True, check=True).stdout.splitlines()
    pos = 0
    for c in vectors["cases"]:
        got = [tuple(map(int, ln.split())) for ln in lines[pos:pos + len(c["index"])]]
        pos += len(c["index"])
        msg = f"case {c['shape']} seed {c['seed']} K {c['buckets']} P {c['banks']}"
        assert [b for b, _ in got] == c["bucket"], msg
        assert [s for _, s in got] == c["sign"], msg
        assert [int(k) for k in lines[pos].split()] == c["round_keys"], msg
        pos += 1
    assert [int(v) for v in lines[pos:]] == [e for *_, e in vectors["mix"]]
