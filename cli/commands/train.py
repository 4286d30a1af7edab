"""`hashhls train`: Train a zoo model (hashed or dense) on MNIST or CIFAR-10."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ..errors import HashhlsError

NAME = "train"
HELP = "Train a zoo model (hashed or dense) on MNIST or CIFAR-10"

log = logging.getLogger(__name__)

# Kept in sync with hashhls.frontend.train's defaults without importing torch here.
DEFAULT_EPOCHS = 40
DEFAULT_BATCH = 128
DEFAULT_LR = 2e-3
MODEL_CHOICES = ("mnist-mlp", "lenet5", "cifar-convnet")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, metavar="NAME",
                        help=f"zoo model: {', '.join(MODEL_CHOICES)}")
    parser.add_argument("--compression", type=float, default=8.0,
                        help="virtual/stored weights per layer, K = ceil(N*M/c); 1 = dense (default 8)")
    parser.add_argument("--gi", metavar="MODE:EPS", help="train with gradient inhibition, e.g. sign:0.1 or scale:15")
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS, help=f"default {DEFAULT_EPOCHS}")
    parser.add_argument("--seed", type=int, default=0, help="hash seed base and training seed (default 0)")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH, help=f"default {DEFAULT_BATCH}")
    parser.add_argument("--lr", type=float, default=DEFAULT_LR, help=f"Adam learning rate, cosine-decayed "
                                                                    f"(default {DEFAULT_LR:g})")
    parser.add_argument("--no-augment", action="store_true", help="disable random +-2 pixel shifts")
    parser.add_argument("--data", metavar="DIR", help="dataset directory: full MNIST IDX files, or CIFAR-10 "
                                                      "python batches for cifar-convnet (default: bundled MNIST)")
    parser.add_argument("--limit", type=int, metavar="N", help="train on the first N training images only")
    parser.add_argument("-o", "--output", required=True, metavar="MODEL.pt", help="checkpoint to write")


def check_output(path: str) -> Path:
    """Fail before any work if the output file cannot be written."""
    out = Path(path)
    if out.is_dir():
        raise HashhlsError(f"output {out} is a directory, expected a file name")
    if not out.parent.is_dir():
        raise HashhlsError(f"output directory does not exist: {out.parent}")
    return out


def describe_test_set(dataset: str, data: str | None, n: int) -> str:
    if dataset == "mnist":
        where = "official MNIST test set" if data is None else f"MNIST test set in {data}"
    else:
        where = f"CIFAR-10 test set in {data}"
    return f"{where}, {n} images"


def run(args: argparse.Namespace) -> int:
    from ..frontend.checkpoint import save_checkpoint
    from ..frontend.datasets import load_dataset
    from ..frontend.gi import GIConfig
    from ..frontend.train import train_model
    from ..frontend.zoo import ModelConfig

    out = check_output(args.output)
    gi = None
    if args.gi is not None:
        try:
            gi = GIConfig.parse(args.gi)
        except ValueError as e:
            raise HashhlsError(str(e)) from None
    if args.epochs < 1 or args.batch_size < 1 or not args.lr > 0:
        raise HashhlsError("--epochs and --batch-size must be >= 1 and --lr > 0")
    if args.limit is not None and args.limit < 1:
        raise HashhlsError(f"--limit must be >= 1, got {args.limit}")
    cfg = ModelConfig(args.model, args.compression, args.seed, gi)
    train = load_dataset(cfg.dataset, args.data, "train", args.limit)
    test = load_dataset(cfg.dataset, args.data, "test")
    log.info("training %s (compression %g, seed %d) on %d images for %d epochs", cfg.name, cfg.compression,
             args.seed, len(train[1]), args.epochs)
    model, metrics = train_model(cfg, train, test, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                                 seed=args.seed, augment=not args.no_augment, progress=True)
    metrics["data"] = "bundled" if args.data is None else str(args.data)
    save_checkpoint(out, model, cfg, metrics)
    log.info("wrote %s (%d stored weights)", out, metrics["stored_weights"])
    print(f"test accuracy: {100 * metrics['test_accuracy']:.2f}% "
          f"({describe_test_set(cfg.dataset, args.data, metrics['test_samples'])})")
    return 0
