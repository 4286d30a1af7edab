"""`hashhls gi`: Apply gradient inhibition to a trained checkpoint."""

from __future__ import annotations

import argparse

from ...core.terminal import safe
import json
import logging

from ...core.errors import HashhlsError
from ..options import add_output, output_file
from .train import describe_test_set

NAME = "gi"
HELP = "Apply gradient inhibition to a trained checkpoint"

log = logging.getLogger(__name__)


def _layers(text: str) -> list[int]:
    try:
        layers = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated layer indices such as 0,1, got {text!r}") from None
    if not layers:
        raise argparse.ArgumentTypeError("expected at least one layer index")
    return layers


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", metavar="MODEL.pt", help="checkpoint written by 'hashhls train'")
    parser.add_argument("--mode", required=True, choices=("sign", "scale", "mult"),
                        help="sign: w += eps*sign(w) on weight layers; scale: logits *= 1+eps; mult: w += eps*w on "
                             "weight layers (the public GI code's 'modified' setting: --mode mult --eps 20 "
                             "--layers -1)")
    parser.add_argument("--eps", type=float, required=True,
                        help="GI strength (sign: ~0.1, or 20 as the public code; scale: ~10-20; mult: 20)")
    parser.add_argument("--layers", type=_layers, metavar="I,J",
                        help="sign / mult: weight layers to act on, counted from 0, negative from the end "
                             "(-1 = the last) (default: all)")
    parser.add_argument("--data", metavar="DIR", help="dataset directory for the accuracy check "
                                                      "(default: bundled MNIST test set)")
    add_output(parser, "OUT.pt", "checkpoint to write")


def run(args: argparse.Namespace) -> int:
    from ...frontend.checkpoint import checkpoint_metrics, load_checkpoint, save_checkpoint
    from ...frontend.datasets import load_dataset
    from ...frontend.gi import GIConfig, GIMode, apply_gi, weight_layers
    from ...frontend.train import evaluate
    from ...frontend.zoo import ModelConfig

    from ...core.inputs import check_checkpoint

    check_checkpoint(args.checkpoint, "GI is applied to a trained checkpoint ('hashhls train')")
    from ...core.inputs import check_data_dir

    check_data_dir(args.data)
    out = output_file(args, (".pt", ".pth"))
    try:
        gi = GIConfig(GIMode(args.mode), args.eps)
    except ValueError as e:
        raise HashhlsError(f"bad GI setting: {e}") from None
    if args.layers is not None and not gi.mode.acts_on_weights:
        raise HashhlsError("--layers only applies to --mode sign and --mode mult")
    model, cfg = load_checkpoint(args.checkpoint)
    layers = args.layers
    if layers is not None:  # negative indices count from the last weight layer
        n = len(weight_layers(model))
        layers = [i + n if -n <= i < 0 else i for i in layers]
    if cfg.gi is not None:
        raise HashhlsError(f"checkpoint {args.checkpoint} already has gradient inhibition ({cfg.gi.mode.value}:"
                           f"{cfg.gi.eps:g})")
    # Validates the layer indices against the architecture before any work.
    new_cfg = ModelConfig(cfg.name, cfg.compression, cfg.seed, gi, layers, cfg.hash_version, cfg.banks)
    x, y = load_dataset(cfg.dataset, args.data, "test")
    before = evaluate(model, x, y)
    gi_model = apply_gi(model, gi, new_cfg.gi_layers)
    after = evaluate(gi_model, x, y)
    metrics = checkpoint_metrics(args.checkpoint)
    metrics.update({"gi": gi.to_dict(), "gi_layers": new_cfg.gi_layers, "test_accuracy_before_gi": before,
                    "test_accuracy": after, "test_samples": len(y)})
    save_checkpoint(out, gi_model, new_cfg, json.loads(json.dumps(metrics)))
    where = describe_test_set(cfg.dataset, args.data, len(y))
    print(safe(f"test accuracy before GI: {100 * before:.2f}% ({where})"))
    print(f"test accuracy after GI ({gi.mode.value}:{gi.eps:g}): {100 * after:.2f}%")
    log.info("wrote %s", out)
    return 0
