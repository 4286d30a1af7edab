"""ONNX file size: hashed exports (1/8, 1/64) vs the dense export of mnist-mlp.

    python bench/export_size.py        # prints the table, writes bench/results/export_size.md
"""

from __future__ import annotations

from pathlib import Path

from hashhls.frontend.onnx_export import export_onnx
from hashhls.frontend.zoo import ModelConfig, build_model


def main() -> None:
    rows = []
    dense_size = None
    for c, dense in [(1, True), (8, False), (64, False)]:
        model = build_model(ModelConfig(name="mnist-mlp", compression=c, seed=0, gi=None))
        size = len(export_onnx(model, input_shape=[1, 28, 28], dense=dense).SerializeToString())
        dense_size = dense_size or size
        rows.append((("dense (Gemm)" if dense else f"hashed 1/{c}"), size, size / dense_size))
    lines = ["# ONNX export size, mnist-mlp 784-300-100-10", "", "Produced by `python bench/export_size.py`.", "",
             "| export | bytes | vs dense |", "|---|---:|---:|"]
    lines += [f"| {name} | {size:,} | {ratio:.3f} |" for name, size, ratio in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    out = Path(__file__).parent / "results" / "export_size.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(text)


if __name__ == "__main__":
    main()
