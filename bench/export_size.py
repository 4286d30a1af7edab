"""ONNX file size: hashed exports (1/8, 1/64) vs the dense export, for mnist-mlp and lenet5.

    python bench/export_size.py        # prints the tables, writes bench/results/export_size.md
"""

from __future__ import annotations

from pathlib import Path

from hashhls.frontend.onnx_export import export_onnx
from hashhls.frontend.zoo import ModelConfig, build_model

MODELS = {"mnist-mlp": "784-300-100-10, `HashedLinear` nodes",
          "lenet5": "two 5x5 convolutions and 400-120-84-10, `HashedConv2d` and `HashedLinear` nodes"}


def main() -> None:
    lines = ["# ONNX export size, hashed vs dense", "", "Produced by `python bench/export_size.py`. Same seed (0) for "
             "every export; `dense` is `--dense` (plain `Gemm`/`Conv` with the materialised weights).", ""]
    for name, what in MODELS.items():
        rows = []
        dense_size = None
        for c, dense in [(1, True), (8, False), (64, False)]:
            cfg = ModelConfig(name=name, compression=c, seed=0, gi=None)
            size = len(export_onnx(build_model(cfg), input_shape=cfg.input_shape, dense=dense).SerializeToString())
            dense_size = dense_size or size
            rows.append((("dense" if dense else f"hashed 1/{c}"), size, size / dense_size))
        lines += [f"## {name} ({what})", "", "| export | bytes | vs dense |", "|---|---:|---:|"]
        lines += [f"| {kind} | {size:,} | {ratio:.3f} |" for kind, size, ratio in rows]
        lines.append("")
    text = "\n".join(lines)
    print(text)
    out = Path(__file__).parent / "results" / "export_size.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(text)


if __name__ == "__main__":
    main()
