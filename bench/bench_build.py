"""Build and inference speed: hls4ml's stock flow on the dense equivalent vs hashhls (benchmark, not a test).

On the 10,000 official MNIST test images, for the bundled default model (784-300-100-10, hashed 1/8) and the
bundled LeNet-5 (hashed 1/8):

* hls4ml stock: the dense equivalent (nn.Linear with the materialised virtual weights, on flattened
  inputs) through
  hls4ml's PyTorch front end, Vivado backend, io_parallel, Resource strategy, reuse factor 64,
  default precision ap_fixed<16,6,AP_RND_CONV,AP_SAT>: convert + write + compile time and
  ``predict`` throughput;
* hashhls: ``hashhls build`` time (to a compiled csim) and csim throughput (batched, 2 processes);
* the bit-exact numpy emulator and float torch throughput.

    python bench/bench_build.py     # prints the table, writes bench/results/bench_build.md
"""

from __future__ import annotations

import logging
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results" / "bench_build.md"
PRECISION = "ap_fixed<16,6,AP_RND_CONV,AP_SAT>"
REUSE = 64
LENET = Path(__file__).resolve().parents[1] / "frontend" / "pretrained" / "lenet5-c8.pt"


def _dense_equivalent(model, conv: bool):
    """nn.Linear / nn.Conv2d holding the materialised virtual weights (what hls4ml's stock flow can take)."""
    import torch
    from torch import nn

    from hashhls.frontend.layers import HashedConv2d, HashedLinear

    layers = []
    for m in model:
        if isinstance(m, nn.Flatten) and not conv:
            # An MLP is fed flattened inputs instead: hls4ml's PyTorch front end turns Flatten of a (1, 28, 28)
            # input into a channels-last Reshape that scrambles the pixels (12% accuracy when measured).
            continue
        if isinstance(m, HashedLinear):
            new = nn.Linear(m.in_features, m.out_features)
        elif isinstance(m, HashedConv2d):
            new = nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding)
        else:
            layers.append(m)
            continue
        with torch.no_grad():
            new.weight.copy_(m.virtual_weight())
            new.bias.copy_(m.bias)
        layers.append(new)
    return nn.Sequential(*layers).eval()


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def bench_stock(dense, x: np.ndarray, work: Path, accums: list[str], conv: bool) -> dict:
    """hls4ml's own flow. Every tensor gets PRECISION and each weighted layer the exact accumulator hashhls
    chose (hls4ml's model-level default would accumulate in the 16-bit default type)."""
    import hls4ml

    shape = tuple(x.shape[1:]) if conv else (int(np.prod(x.shape[1:])),)
    cfg = hls4ml.utils.config_from_pytorch_model(dense, input_shape=shape, granularity="name",
                                                 default_precision=PRECISION, default_reuse_factor=REUSE,
                                                 channels_last_conversion="full", transpose_outputs=False)
    cfg["Model"]["Strategy"] = "Resource"
    weighted = iter(zip(accums, [m for m in dense if hasattr(m, "weight")]))
    for layer in cfg["LayerName"].values():
        p = layer["Precision"]
        for key in p:
            p[key] = PRECISION
        if "weight" in p:
            p["accum"], module = next(weighted)
            if hasattr(module, "kernel_size"):
                # hls4ml picks a "valid" reuse factor above C*kh*kw for a 1-channel 5x5 conv (75 > 25), which its
                # own conv_2d_resource_cl then rejects by assertion in C simulation: cap it.
                fan_in = module.in_channels * module.kernel_size[0] * module.kernel_size[1]
                layer["ReuseFactor"] = min(REUSE, fan_in)
    hls_model, t_convert = _timed(lambda: hls4ml.converters.convert_from_pytorch_model(
        dense, hls_config=cfg, output_dir=str(work / "stock"), project_name="myproject", backend="Vivado",
        io_type="io_parallel"))
    _, t_write = _timed(hls_model.write)
    _, t_compile = _timed(hls_model.compile)
    flat = x.transpose(0, 2, 3, 1) if conv else x  # channels-last input, as hls4ml's converted model reads it
    y, t_predict = _timed(lambda: np.asarray(hls_model.predict(np.ascontiguousarray(flat.reshape(len(x), -1)))))
    return {"convert": t_convert, "write": t_write, "compile": t_compile, "predict": t_predict,
            "y": y.reshape(len(x), -1).astype(np.float64)}


def bench_model(title: str, ckpt: Path, x: np.ndarray, labels: np.ndarray) -> list[str]:
    """One model: hashhls build + csim, hls4ml stock on the dense equivalent, emulator, float torch."""
    import torch

    from hashhls.codegen.csim import load_build
    from hashhls.codegen.emulator import Emulator
    from hashhls.codegen.manifest import BuildManifest
    from hashhls.codegen.project import BuildConfig, build
    from hashhls.frontend.checkpoint import load_checkpoint
    from hashhls.frontend.layers import HashedConv2d

    n = len(x)
    model, _ = load_checkpoint(ckpt)
    model.eval()
    conv = any(isinstance(m, HashedConv2d) for m in model)
    dense = _dense_equivalent(model, conv)
    with tempfile.TemporaryDirectory(prefix="hashhls-bench-") as tmp:
        work = Path(tmp)
        # no --reuse-factor: hash-version-2 layers run their banks' (ceil(fan-in / P)), other layers REUSE
        _, t_build = _timed(lambda: build(BuildConfig(output_dir=work / "hashhls", model=ckpt, board="pynq-z2",
                                                       progress=False)))
        accums = [layer.precision["accum"] for layer in BuildManifest.read(work / "hashhls").layers
                  if "weight" in layer.precision]  # weighted layers (a pooling layer has an accum type too)
        stock = bench_stock(dense, x, work, accums, conv)
        csim = load_build(work / "hashhls")
        csim.predict(x[:8])  # warm the page cache, as hls4ml's predict ran after compile()
        y_csim, t_csim = _timed(lambda: csim.predict(x))
        emu = Emulator.from_build(work / "hashhls")
        y_emu, t_emu = _timed(lambda: emu.predict(x))
    with torch.no_grad():
        xt = torch.from_numpy(x)
        y_float, t_float = _timed(lambda: model(xt).numpy())
        y_dense_float = dense(xt if conv else xt.reshape(n, -1)).numpy()

    bit_exact = bool(np.array_equal(y_csim, y_emu))
    stock_same = int((stock["y"] != y_csim).any(axis=1).sum())
    stock_total = stock["convert"] + stock["write"] + stock["compile"]
    rate = {k: n / t for k, t in [("stock", stock["predict"]), ("csim", t_csim), ("emu", t_emu), ("float", t_float)]}
    acc = {k: float((y.argmax(1) == labels).mean()) for k, y in
           [("stock", stock["y"]), ("csim", y_csim), ("emu", y_emu), ("float", y_float)]}
    return [
        f"## {title}",
        "",
        "| flow | build (s) | inference (images/s) | accuracy |",
        "|---|---:|---:|---:|",
        f"| hls4ml stock, dense equivalent (convert {stock['convert']:.1f} + write {stock['write']:.1f} + "
        f"compile {stock['compile']:.1f}) | {stock_total:.1f} | {rate['stock']:,.0f} (`predict`) | "
        f"{acc['stock']:.2%} |",
        f"| hashhls build --board pynq-z2 (incl. csim compile) | {t_build:.1f} | {rate['csim']:,.0f} (csim, "
        f"2 processes) | {acc['csim']:.2%} |",
        f"| hashhls numpy emulator (bit-exact) | - | {rate['emu']:,.0f} | {acc['emu']:.2%} |",
        f"| float torch (hashed model, CPU) | - | {rate['float']:,.0f} | {acc['float']:.2%} |",
        "",
        f"- csim vs emulator on all {n:,} images: {'bit-identical' if bit_exact else 'DIFFERENT'}.",
        f"- hls4ml stock (dense equivalent) vs hashhls csim: {n - stock_same:,} of {n:,} output rows identical.",
        f"- hashhls build time / stock build time: {t_build / stock_total:.2f}; csim throughput / stock predict: "
        f"{rate['csim'] / rate['stock']:.1f}x.",
        f"- float dense equivalent vs hashed torch model: max |diff| {np.abs(y_dense_float - y_float).max():.2e}.",
        "",
    ]


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    from hashhls.frontend.datasets import load_mnist
    from hashhls.frontend.zoo import default_checkpoint

    x, labels = load_mnist(split="test")
    lines = [
        "# Build and inference speed: hls4ml stock (dense equivalent) vs hashhls",
        "",
        f"Produced by `python bench/bench_build.py` on {os.cpu_count()} cores ({platform.processor() or 'cpu'}), "
        f"{len(x):,} official MNIST test images, precision `{PRECISION}` everywhere (hls4ml stock given "
        f"hashhls's exact accumulator types), reuse factor {REUSE} for hls4ml stock (hls4ml adjusts it per layer; "
        "stock convolutions capped at C*kh*kw) and hashhls's default for hashhls (hash-version-2 layers: "
        "ceil(fan-in / banks), the banked kernel's). hls4ml stock = its PyTorch front end, Vivado backend, "
        "io_parallel, Resource strategy, on the dense equivalent (the materialised virtual weights). One run.",
        "",
    ]
    lines += bench_model("mnist-mlp-c8 (784-300-100-10, hashed 1/8; the bundled default)", default_checkpoint(), x,
                         labels)
    lenet = LENET
    if lenet.is_file():
        lines += bench_model("lenet5-c8 (LeNet-5, hashed 1/8)", lenet, x, labels)
    else:
        lines += [f"(LeNet-5 skipped: {lenet} not found)", ""]
    text = "\n".join(lines)
    print(text)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(text)


if __name__ == "__main__":
    main()
