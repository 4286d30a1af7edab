"""Test accuracy of hashed (1/8, 1/64; hash versions 1 and 2) vs dense mnist-mlp and lenet5, each with its recipe.

Trains each model with its default recipe (``hashhls.frontend.train.RECIPES``:
Adam + cosine, +-2 px shifts, seed 0) on the bundled 10k MNIST training images
and evaluates on the official 10k test set; hash version 2 with the
architecture's default banks (``hashhls.frontend.zoo.DEFAULT_BANKS``, clipped
to K). Prints the table and writes ``bench/results/accuracy.md``.

    python bench/accuracy_table.py [--models mnist-mlp,lenet5] [--hash-versions 1,2] [--epochs N] [--data DIR]
"""

from __future__ import annotations

import argparse
import os
import platform
from pathlib import Path

import torch
from hashhls.frontend import train as T
from hashhls.frontend.datasets import load_mnist
from hashhls.frontend.zoo import ModelConfig

OUT = Path(__file__).resolve().parent / "results" / "accuracy.md"
MODELS = ("mnist-mlp", "lenet5")
COMPRESSIONS = (1, 8, 64)
HASH_VERSIONS = (1, 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(MODELS), help=f"comma-separated, from {', '.join(MODELS)}")
    ap.add_argument("--epochs", type=int, help="override every model's recipe")
    ap.add_argument("--hash-versions", default=",".join(map(str, HASH_VERSIONS)),
                    help="comma-separated hash versions of the hashed rows (docs/hash-spec.md)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", help="full MNIST directory (default: bundled 10k subset)")
    args = ap.parse_args()
    models = [m for m in args.models.split(",") if m]
    if not models or any(m not in MODELS for m in models):
        ap.error(f"--models must name some of {', '.join(MODELS)}")
    try:
        versions = [int(v) for v in args.hash_versions.split(",") if v]
    except ValueError:
        versions = []
    if not versions or any(v not in HASH_VERSIONS for v in versions):
        ap.error(f"--hash-versions must name some of {', '.join(map(str, HASH_VERSIONS))}")
    train, test = load_mnist(args.data, "train"), load_mnist(args.data, "test")
    rows, recipes = [], []
    load_before = os.getloadavg()[0]
    for name in models:
        r = T.recipe_for(name)
        epochs = args.epochs or r.epochs
        recipes.append(f"* {name}: Adam lr {r.lr:g} with cosine decay, batch {r.batch_size}, {epochs} epochs, "
                       f"random +-2 px shifts, seed {args.seed}.")
        for c in COMPRESSIONS:
            for v in ([1] if c == 1 else versions):
                cfg = ModelConfig(name, compression=c, seed=args.seed, hash_version=v)
                _, m = T.train_model(cfg, train, test, epochs=epochs, seed=args.seed, progress=False)
                hashing = "-" if c == 1 else ("v1" if v == 1 else f"v2, banks {','.join(map(str, cfg.banks))}")
                rows.append((name, "dense" if c == 1 else f"1/{c}", hashing, m["stored_weights"],
                             m["test_accuracy"], m["seconds"]))
                print(f"{name} {rows[-1][1]} {hashing}: {100 * m['test_accuracy']:.2f}% in {m['seconds']:.1f} s",
                      flush=True)
    load_after = os.getloadavg()[0]
    lines = [
        "# Hashed vs dense: test accuracy on MNIST (mnist-mlp 784-300-100-10, lenet5)",
        "",
        "Recipes (`hashhls.frontend.train.RECIPES`, the `hashhls train` defaults):",
        "",
        *recipes,
        "",
        (f"Trained on {len(train[1])} MNIST training images "
         f"({'bundled subset' if args.data is None else args.data}), tested on {len(test[1])} test images. "
         f"Stored weights = K bucket weights + biases. Training time on this machine "
         f"({platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, {torch.get_num_threads()} "
         f"threads, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}; 1-minute load average {load_before:.1f} before and {load_after:.1f} after the run: other "
         f"jobs sharing the CPUs slow training down)."),
        "",
        f"Produced by `python bench/accuracy_table.py` (models {','.join(models)}, hash versions "
        f"{','.join(map(str, versions))}).",
        "",
        "| model | compression | hash | stored weights | test accuracy | training time |",
        "|---|---|---|---:|---:|---:|",
    ]
    lines += [f"| {n} | {c} | {h} | {w:,} | {100 * a:.2f}% | {s:.1f} s |" for n, c, h, w, a, s in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
