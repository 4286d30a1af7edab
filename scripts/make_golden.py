"""Write hw_tests/golden/default_model.npz: golden vectors for the bundled default model.

64 inputs (the first 48 official MNIST test images and 16 seeded random inputs wide enough to saturate the
input type) and the expected output codes, computed ONCE by the bit-exact emulator from a fresh build at the
default precision. hw_tests/test_golden.py replays them through csim. Re-run only when the bundled model,
the default precision or the fixed-point semantics change on purpose:

    /work/venv/bin/python scripts/make_golden.py
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np

from hashhls.codegen.emulator import Emulator
from hashhls.codegen.project import BuildConfig, build
from hashhls.frontend.datasets import load_mnist

OUT = Path(__file__).resolve().parents[1] / "hw_tests" / "golden" / "default_model.npz"
N_MNIST, N_WIDE, SEED = 48, 16, 20240


def main() -> None:
    x_mnist, labels = load_mnist(split="test", limit=N_MNIST)
    wide = np.random.default_rng(SEED).uniform(-40, 40, (N_WIDE, 1, 28, 28)).astype(np.float32)
    x = np.concatenate([x_mnist, wide]).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        manifest = build(BuildConfig(output_dir=Path(tmp) / "b", board="pynq-z2", compile_csim=False, progress=False))
        codes = Emulator.from_build(Path(tmp) / "b").predict_codes(x)
    buf = io.BytesIO()
    np.savez_compressed(buf, x=x, codes=codes.astype(np.int32), labels=labels.astype(np.int64),
                        input_precision=manifest.input_precision, output_precision=manifest.output_precision,
                        source=manifest.source, source_sha256=manifest.source_sha256)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_bytes(buf.getvalue())
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes): {len(x)} inputs, output codes {codes.shape}")


if __name__ == "__main__":
    main()
