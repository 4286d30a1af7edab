"""Train a bundled checkpoint: mnist-mlp (the default) or lenet5, compression 8, seed 0, bundled 10k MNIST.

Hash version 2 with the architecture's default banks (``hashhls.frontend.zoo.DEFAULT_BANKS``) unless
``--hash-version 1``. Uses the model's recipe (``hashhls.frontend.train.RECIPES``). Writes
``frontend/pretrained/mnist-mlp-c8.pt`` (or ``lenet5-c8.pt``) and a record
``.md`` beside it (the recipe and the measured test accuracy on the official
10k MNIST test set); refuses to write a model below the model's accuracy floor.
The previous, hash-version-1 bundled checkpoints are kept as test data in
``hw_tests/data/v1/`` (with their records).

    OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE python scripts/train_default.py                  # mnist-mlp-c8.pt
    OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE python scripts/train_default.py --model lenet5   # lenet5-c8.pt
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import os
import platform
import sys
from pathlib import Path

import torch
from hashhls.frontend import train as T
from hashhls.frontend.checkpoint import save_checkpoint
from hashhls.frontend.datasets import load_mnist
from hashhls.frontend.zoo import DEFAULT_CHECKPOINT, LENET5_CHECKPOINT, ModelConfig

REPO = Path(__file__).resolve().parents[1]
OUT_DIR = REPO / "frontend" / "pretrained"
#: model -> (checkpoint file name, accuracy floor on the official test set, title of the record)
BUNDLED = {
    "mnist-mlp": (DEFAULT_CHECKPOINT, 0.95, "Bundled default checkpoint"),
    "lenet5": (LENET5_CHECKPOINT, 0.98, "Bundled LeNet-5 checkpoint"),
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=tuple(BUNDLED), default="mnist-mlp")
    ap.add_argument("--epochs", type=int, help="default: the model's recipe")
    ap.add_argument("--hash-version", type=int, choices=(1, 2), default=2)
    ap.add_argument("--out-dir", type=Path, default=OUT_DIR)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    name, floor, title = BUNDLED[args.model]
    recipe = T.recipe_for(args.model)
    epochs = recipe.epochs if args.epochs is None else args.epochs
    cfg = ModelConfig(args.model, compression=8, seed=0, hash_version=args.hash_version)
    train, test = load_mnist(split="train"), load_mnist(split="test")
    model, metrics = T.train_model(cfg, train, test, epochs=epochs, seed=0)
    acc = metrics["test_accuracy"]
    if acc < floor:
        print(f"test accuracy {100 * acc:.2f}% is below {100 * floor:.0f}%: not written", file=sys.stderr)
        return 1
    metrics["data"] = "bundled"
    ckpt = save_checkpoint(args.out_dir / name, model, cfg, metrics)
    ckpt.chmod(0o644)  # package data: atomic_file's temporary file is created 0600
    hashing = "" if cfg.hash_version == 1 else f" --hash-version 2 --banks {','.join(map(str, cfg.banks))}"
    command = (f"hashhls train --model {args.model} --compression 8 --seed 0 --epochs {epochs}{hashing} "
               f"-o {ckpt.name}")
    record = {
        "script": "scripts/train_default.py", "equivalent_command": command, "config": json.loads(cfg.to_json()),
        "epochs": epochs, "batch_size": metrics["batch_size"], "lr": metrics["lr"], "seed": 0,
        "augment": metrics["augment"], "train_images": metrics["train_samples"],
        "test_images": metrics["test_samples"], "test_accuracy": acc, "stored_weights": metrics["stored_weights"],
        "train_seconds": round(metrics["seconds"], 1), "torch": torch.__version__, "python": platform.python_version(),
        "torch_threads": torch.get_num_threads(), "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "unset"),
        "date": datetime.date.today().isoformat(),
    }
    md = ckpt.with_suffix(".md")
    script = "scripts/train_default.py" + ("" if args.model == "mnist-mlp" else f" --model {args.model}")
    if args.hash_version != 2:
        script += f" --hash-version {args.hash_version}"
    md.write_text(
        f"# {title} `{ckpt.name}`\n\n"
        f"Written by `{script}` (equivalent: `{command}`).\n\n"
        f"| field | value |\n|---|---|\n"
        + "".join(f"| {k} | {v if not isinstance(v, dict) else '`' + json.dumps(v) + '`'} |\n"
                  for k, v in record.items() if k not in ("script", "equivalent_command"))
        + f"\nTest accuracy {100 * acc:.2f}% on the official MNIST test set ({metrics['test_samples']} images), "
          f"trained on the bundled first {metrics['train_samples']} MNIST training images.\n"
          f"MNIST: Yann LeCun, Corinna Cortes, Christopher J.C. Burges, CC BY-SA 3.0.\n"
    )
    print(f"wrote {ckpt} ({ckpt.stat().st_size} bytes) and {md}")
    print(f"test accuracy: {100 * acc:.2f}% (official MNIST test set, {metrics['test_samples']} images)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
