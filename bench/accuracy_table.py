"""Test accuracy of mnist-mlp hashed at 1/8 and 1/64 vs dense, same recipe.

Trains each model with hashhls' default recipe (Adam + cosine, +-2 px shifts,
seed 0) on the bundled 10k MNIST training images and evaluates on the official
10k test set. Prints the table and writes ``bench/results/accuracy.md``.

    /work/venv/bin/python bench/accuracy_table.py [--epochs N] [--data DIR]
"""

from __future__ import annotations

import argparse
import platform
from pathlib import Path

import torch
from hashhls.frontend import train as T
from hashhls.frontend.datasets import load_mnist
from hashhls.frontend.zoo import ModelConfig

OUT = Path(__file__).resolve().parent / "results" / "accuracy.md"
COMPRESSIONS = (1, 8, 64)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=T.DEFAULT_EPOCHS)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", help="full MNIST directory (default: bundled 10k subset)")
    args = ap.parse_args()
    train, test = load_mnist(args.data, "train"), load_mnist(args.data, "test")
    rows = []
    for c in COMPRESSIONS:
        cfg = ModelConfig("mnist-mlp", compression=c, seed=args.seed)
        _, m = T.train_model(cfg, train, test, epochs=args.epochs, seed=args.seed, progress=False)
        rows.append((cfg.name, "dense" if c == 1 else f"1/{c}", m["stored_weights"], m["test_accuracy"], m["seconds"]))
        print(f"{rows[-1][1]}: {100 * m['test_accuracy']:.2f}%", flush=True)
    lines = [
        "# mnist-mlp (784-300-100-10): hashed vs dense",
        "",
        (f"Recipe: Adam lr {T.DEFAULT_LR:g} with cosine decay, batch {T.DEFAULT_BATCH_SIZE}, {args.epochs} epochs, "
        f"random +-2 px shifts, seed {args.seed}; trained on {len(train[1])} MNIST training images "
        f"({'bundled subset' if args.data is None else args.data}), tested on {len(test[1])} test images. "
        f"Stored weights = K bucket weights + biases. Training time on this machine "
        f"({platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} threads)."),
        "",
        "Produced by `bench/accuracy_table.py`.",
        "",
        "| model | compression | stored weights | test accuracy | training time |",
        "|---|---|---:|---:|---:|",
    ]
    lines += [f"| {n} | {c} | {w:,} | {100 * a:.2f}% | {s:.1f} s |" for n, c, w, a, s in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
