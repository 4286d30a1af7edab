"""The C++ hash in templates/nnet_hashed.h against the committed spec vectors (docs/hash-test-vectors.json)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

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
