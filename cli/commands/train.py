"""`hashhls train`: Train a zoo model (hashed or dense) on MNIST or CIFAR-10."""

from __future__ import annotations

import argparse
import logging
from ...core.errors import HashhlsError, UsageError
from ..options import add_output, add_threads, apply_threads, output_file

NAME = "train"
HELP = "Train a zoo model (hashed or dense) on MNIST or CIFAR-10"

log = logging.getLogger(__name__)

# Per-model (epochs, batch size, lr): a copy of hashhls.frontend.train.RECIPES, kept here so that
# --help does not import torch (sw_tests/test_lenet5.py checks the two agree).
RECIPES = {"mnist-mlp": (40, 128, 2e-3), "lenet5": (60, 128, 5e-3), "cifar-convnet": (40, 128, 2e-3)}
MODEL_CHOICES = tuple(RECIPES)


def _recipe_help(index: int) -> str:
    return "default per model: " + ", ".join(f"{m} {r[index]:g}" for m, r in RECIPES.items())


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, metavar="NAME",
                        help=f"zoo model: {', '.join(MODEL_CHOICES)}")
    parser.add_argument("--compression", type=float, default=8.0,
                        help="virtual/stored weights per layer, K = ceil(N*M/c); 1 = dense (default 8)")
    parser.add_argument("--hash-version", type=int, choices=(1, 2), default=1,
                        help="hash spec version (docs/hash-spec.md): 2 is the blocked hash whose banks give the "
                             "hardware kernel one lane each, at 1 DSP per lane (default 1)")
    parser.add_argument("--banks", metavar="P1,P2,...",
                        help="hash version 2: banks (= kernel lanes) per weight layer; default: the model's own "
                             "(hashhls.frontend.zoo.DEFAULT_BANKS, chosen to fit the pynq-z2, each at most K and the "
                             "layer's fan-in)")
    parser.add_argument("--gi", metavar="MODE:EPS", help="train with gradient inhibition, e.g. sign:0.1 or scale:15")
    parser.add_argument("--epochs", type=int, help=_recipe_help(0))
    parser.add_argument("--seed", type=int, default=0, help="hash seed base and training seed (default 0)")
    parser.add_argument("--batch-size", type=int, help=_recipe_help(1))
    parser.add_argument("--lr", type=float, help=f"Adam learning rate, cosine-decayed ({_recipe_help(2)})")
    parser.add_argument("--no-augment", action="store_true", help="disable random +-2 pixel shifts")
    parser.add_argument("--data", metavar="DIR", help="dataset directory: full MNIST IDX files, or CIFAR-10 "
                                                      "python batches for cifar-convnet (default: bundled MNIST)")
    parser.add_argument("--limit", type=int, metavar="N", help="train on the first N training images only")
    parser.add_argument("--adversarial", metavar="pgd:EPS[,STEPS[,WARMUP]]",
                        help="PGD adversarial training (Madry et al. 2018): every batch replaced by its L-inf PGD "
                             "examples (random start, STEPS steps, default 10), crafted through the model's hashed "
                             "layers; EPS in (0, 1]; the budget ramps up from 0 over the first WARMUP epochs "
                             "(default 0; a small model at eps 0.3 needs one)")
    add_threads(parser)
    add_output(parser, "MODEL.pt", "checkpoint to write")


def describe_test_set(dataset: str, data: str | None, n: int) -> str:
    if dataset == "mnist":
        where = "official MNIST test set" if data is None else f"MNIST test set in {data}"
    else:
        where = f"CIFAR-10 test set in {data}"
    return f"{where}, {n} images"


def run(args: argparse.Namespace) -> int:
    from ...frontend.checkpoint import save_checkpoint
    from ...frontend.datasets import load_dataset
    from ...frontend.gi import GIConfig
    from ...frontend.train import recipe_for, train_model
    from ...frontend.zoo import ModelConfig, stored_words

    from ...core.inputs import check_data_dir

    check_data_dir(args.data)
    out = output_file(args, (".pt", ".pth"))
    apply_threads(args)
    gi = None
    if args.gi is not None:
        try:
            gi = GIConfig.parse(args.gi)
        except ValueError as e:
            raise HashhlsError(str(e)) from None
    adversarial = None
    if args.adversarial is not None:
        from ...frontend.adversarial_training import AdversarialTraining

        adversarial = AdversarialTraining.parse(args.adversarial)
    if args.limit is not None and args.limit < 1:
        raise HashhlsError(f"--limit must be >= 1, got {args.limit}")
    banks = None
    if args.banks is not None:
        if args.hash_version != 2:
            raise UsageError("--banks needs --hash-version 2")
        try:
            banks = [int(p) for p in args.banks.split(",")]
        except ValueError:
            raise UsageError(f"--banks must be comma-separated integers, got {args.banks!r}") from None
    cfg = ModelConfig(args.model, args.compression, args.seed, gi, hash_version=args.hash_version, banks=banks)
    recipe = recipe_for(cfg.name)
    epochs = recipe.epochs if args.epochs is None else args.epochs
    batch_size = recipe.batch_size if args.batch_size is None else args.batch_size
    lr = recipe.lr if args.lr is None else args.lr
    if epochs < 1 or batch_size < 1 or not lr > 0:
        raise HashhlsError("--epochs and --batch-size must be >= 1 and --lr > 0")
    train = load_dataset(cfg.dataset, args.data, "train", args.limit)
    test = load_dataset(cfg.dataset, args.data, "test")
    log.info("training %s (compression %g, seed %d, hash v%d%s) on %d images for %d epochs", cfg.name,
             cfg.compression, args.seed, cfg.hash_version, f", banks {cfg.banks}" if cfg.banks else "",
             len(train[1]), epochs)
    model, metrics = train_model(cfg, train, test, epochs=epochs, batch_size=batch_size, lr=lr,
                                 seed=args.seed, augment=not args.no_augment, progress=True, adversarial=adversarial)
    metrics["data"] = "bundled" if args.data is None else str(args.data)
    save_checkpoint(out, model, cfg, metrics)
    log.info("wrote %s (%s stored)", out, stored_words(model))
    print(f"test accuracy: {100 * metrics['test_accuracy']:.2f}% "
          f"({describe_test_set(cfg.dataset, args.data, metrics['test_samples'])})")
    return 0
