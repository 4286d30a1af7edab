"""Training time per epoch: hashed mnist-mlp (1/8) vs the dense one.

Median over several epochs of the bundled 10k MNIST training images (batch
128, augmentation on, the default recipe). Prints the ratio and writes
``bench/results/train_speed.md``.

    /work/venv/bin/python bench/train_speed.py [--epochs N]
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import torch
from hashhls.frontend import train as T
from hashhls.frontend.datasets import load_mnist
from hashhls.frontend.layers import HashedLinear
from hashhls.frontend.zoo import ModelConfig

OUT = Path(__file__).resolve().parent / "results" / "train_speed.md"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=7)
    args = ap.parse_args()
    train = load_mnist(split="train")
    med = {}
    for key, c in (("dense", 1), ("hashed", 8), ("advanced-index", 8)):
        if key == "advanced-index":
            # The layer as first written: weight[bucket], whose backward is an accumulating
            # index_put_ (slow on CPU); kept here to show what the index_select change bought.
            fast = HashedLinear.virtual_weight
            HashedLinear.virtual_weight = lambda self: (self.weight[self._bucket] * self._sign).view(self.hash.shape)
        try:
            _, m = T.train_model(ModelConfig("mnist-mlp", compression=c), train, epochs=args.epochs, progress=False)
        finally:
            if key == "advanced-index":
                HashedLinear.virtual_weight = fast
        # Drop the first epoch (allocator and thread-pool warm-up).
        med[key] = statistics.median(m["epoch_seconds"][1:])
        print(f"{key}: epochs {[round(s, 3) for s in m['epoch_seconds']]}", flush=True)
    ratio = med["hashed"] / med["dense"]
    text = (
        "# Training time per epoch: hashed vs dense mnist-mlp\n\n"
        f"{len(train[1])} images per epoch, batch {T.DEFAULT_BATCH_SIZE}, augmentation on, "
        f"median of epochs 2..{args.epochs}, torch {torch.__version__}, {torch.get_num_threads()} threads "
        "(shared machine: absolute times are noisy, the ratio less so).\n\n"
        "Produced by `bench/train_speed.py`.\n\n"
        "| model | compression | median epoch |\n|---|---|---:|\n"
        f"| mnist-mlp | dense | {med['dense']:.3f} s |\n| mnist-mlp | 1/8 | {med['hashed']:.3f} s |\n"
        f"| mnist-mlp, `weight[bucket]` gather (before the `index_select` change) | 1/8 | "
        f"{med['advanced-index']:.3f} s |\n\n"
        f"Hashed / dense epoch time: **{ratio:.2f}x** "
        f"(with the old gather: {med['advanced-index'] / med['dense']:.2f}x)\n"
    )
    print(text)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
