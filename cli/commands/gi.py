"""`hashhls gi`: Apply gradient inhibition to a trained checkpoint."""

from __future__ import annotations

import argparse
import json
import logging

from ...core.errors import HashhlsError
from .train import check_output, describe_test_set

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
    parser.add_argument("--mode", required=True, choices=("sign", "scale"),
                        help="sign: w += eps*sign(w) on weight layers; scale: logits *= 1+eps")
    parser.add_argument("--eps", type=float, required=True, help="GI strength (sign: ~0.1, scale: ~10-20)")
    parser.add_argument("--layers", type=_layers, metavar="I,J",
                        help="sign mode: weight layers to act on, counted from 0 (default: all)")
    parser.add_argument("--data", metavar="DIR", help="dataset directory for the accuracy check "
                                                      "(default: bundled MNIST test set)")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.pt", help="checkpoint to write")


def run(args: argparse.Namespace) -> int:
    from ...frontend.checkpoint import checkpoint_metrics, load_checkpoint, save_checkpoint
    from ...frontend.datasets import load_dataset
    from ...frontend.gi import GIConfig, GIMode, apply_gi
    from ...frontend.train import evaluate
    from ...frontend.zoo import ModelConfig

    out = check_output(args.output)
    try:
        gi = GIConfig(GIMode(args.mode), args.eps)
    except ValueError as e:
        raise HashhlsError(f"bad GI setting: {e}") from None
    if args.layers is not None and gi.mode is not GIMode.SIGN:
        raise HashhlsError("--layers only applies to --mode sign")
    model, cfg = load_checkpoint(args.checkpoint)
    if cfg.gi is not None:
        raise HashhlsError(f"checkpoint {args.checkpoint} already has gradient inhibition ({cfg.gi.mode.value}:"
                           f"{cfg.gi.eps:g})")
    # Validates the layer indices against the architecture before any work.
    new_cfg = ModelConfig(cfg.name, cfg.compression, cfg.seed, gi, args.layers, cfg.hash_version, cfg.banks)
    x, y = load_dataset(cfg.dataset, args.data, "test")
    before = evaluate(model, x, y)
    gi_model = apply_gi(model, gi, new_cfg.gi_layers)
    after = evaluate(gi_model, x, y)
    metrics = checkpoint_metrics(args.checkpoint)
    metrics.update({"gi": gi.to_dict(), "gi_layers": new_cfg.gi_layers, "test_accuracy_before_gi": before,
                    "test_accuracy": after, "test_samples": len(y)})
    save_checkpoint(out, gi_model, new_cfg, json.loads(json.dumps(metrics)))
    where = describe_test_set(cfg.dataset, args.data, len(y))
    print(f"test accuracy before GI: {100 * before:.2f}% ({where})")
    print(f"test accuracy after GI ({gi.mode.value}:{gi.eps:g}): {100 * after:.2f}%")
    log.info("wrote %s", out)
    return 0
