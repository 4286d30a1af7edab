"""Write the golden vectors in hw_tests/golden/: the bundled default model and the bundled LeNet-5.

64 inputs each (the first 48 official MNIST test images and 16 seeded random inputs wide enough to saturate
the input type) and the expected output codes, computed ONCE by the bit-exact emulator from a fresh build at
the default precision. hw_tests/test_golden.py replays them through csim. Re-run only when a bundled model,
the default precision or the fixed-point semantics change on purpose:

    python scripts/make_golden.py          # the bundled (hash version 2) models
    python scripts/make_golden.py --v1     # the hash-version-1 checkpoints kept in hw_tests/data/v1/

The v1 files were made before hash version 2 existed, from the then-bundled checkpoints (now in
hw_tests/data/v1/): keeping them unchanged is what shows that v1 checkpoints still build as before.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np

from hashhls.codegen.emulator import Emulator
from hashhls.codegen.project import BuildConfig, build
from hashhls.frontend.datasets import load_mnist

GOLDEN = Path(__file__).resolve().parents[1] / "hw_tests" / "golden"
PRETRAINED = Path(__file__).resolve().parents[1] / "frontend" / "pretrained"
V1_DATA = Path(__file__).resolve().parents[1] / "hw_tests" / "data" / "v1"
#: golden file -> checkpoint (None: the bundled default, built with no MODEL)
MODELS = {"default_model.npz": None, "lenet5_model.npz": PRETRAINED / "lenet5-c8.pt"}
V1_MODELS = {"v1_default_model.npz": V1_DATA / "mnist-mlp-c8-v1.pt", "v1_lenet5_model.npz": V1_DATA / "lenet5-c8-v1.pt"}
N_MNIST, N_WIDE, SEED = 48, 16, 20240


def write(out: Path, ckpt: Path | None) -> None:
    x_mnist, labels = load_mnist(split="test", limit=N_MNIST)
    wide = np.random.default_rng(SEED).uniform(-40, 40, (N_WIDE, 1, 28, 28)).astype(np.float32)
    x = np.concatenate([x_mnist, wide]).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        manifest = build(BuildConfig(output_dir=Path(tmp) / "b", model=ckpt, board="pynq-z2", compile_csim=False,
                                     progress=False))
        codes = Emulator.from_build(Path(tmp) / "b").predict_codes(x)
    buf = io.BytesIO()
    np.savez_compressed(buf, x=x, codes=codes.astype(np.int32), labels=labels.astype(np.int64),
                        input_precision=manifest.input_precision, output_precision=manifest.output_precision,
                        source=manifest.source, source_sha256=manifest.source_sha256)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(buf.getvalue())
    print(f"wrote {out} ({out.stat().st_size} bytes): {len(x)} inputs, output codes {codes.shape}")


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--v1", action="store_true", help="regenerate the hash-version-1 files instead")
    args = ap.parse_args()
    for name, ckpt in (V1_MODELS if args.v1 else MODELS).items():
        write(GOLDEN / name, ckpt)


if __name__ == "__main__":
    main()
