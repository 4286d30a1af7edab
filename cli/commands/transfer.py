"""`hashhls transfer`: the transfer matrix for one model, in one command."""

from __future__ import annotations

import argparse

NAME = "transfer"
HELP = ("Craft on the dense float parent, the hashed float model, the fixed-point twin and csim (black-box), "
        "replay each everywhere: the transfer matrix")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("build_dir", metavar="BUILD_DIR", help="output directory of 'hashhls build' for the model")
    parser.add_argument("--model", metavar="MODEL.pt",
                        help="the checkpoint that was built (default: the bundled model, as built with no MODEL)")
    parser.add_argument("--dense-parent", metavar="CKPT",
                        help="a dense (compression 1) checkpoint of the same architecture to craft on; default: the "
                             "bundled dense parent for the bundled model, else the hashed model's dense "
                             "materialisation")
    parser.add_argument("--attack", default="pgd", help="gradient attack for rows (a)-(c) (default pgd)")
    parser.add_argument("--eps", type=float, default=0.1, help="L-inf budget (default 0.1)")
    parser.add_argument("-n", type=int, default=200, help="first N MNIST test images (default 200)")
    parser.add_argument("--queries", type=int, default=300, help="Square attack query budget on csim (default 300)")
    parser.add_argument("-o", "--output", required=True, metavar="DIR", help="report directory (created)")
    parser.add_argument("--force", action="store_true", help="replace an existing report directory")


def run(args: argparse.Namespace) -> int:
    from ...core.atomic import atomic_dir
    from ...codegen.manifest import BuildManifest
    from ...adversarial.replay import build_targets, replay
    from ...adversarial.report import transfer_table, transfer_matrix, write_report
    from ...core.errors import HashhlsError
    from ...adversarial.attacks import ATTACKS
    from ...adversarial.attacks.base import check_eps
    from ...adversarial.craft import craft, crafting_model
    from ...frontend.checkpoint import load_checkpoint
    from ...frontend.datasets import load_mnist
    from ...frontend.zoo import default_checkpoint, default_dense_parent

    if args.n < 1:
        raise HashhlsError(f"-n must be >= 1, got {args.n}")
    if args.queries < 1:
        raise HashhlsError(f"--queries must be >= 1, got {args.queries}")
    atk = ATTACKS.get(args.attack.lower())
    if atk is None or atk.black_box:
        gradient = ", ".join(k for k, v in ATTACKS.items() if not v.black_box)
        raise HashhlsError(f"--attack must be a gradient attack for rows (a)-(c) ({gradient}), got {args.attack!r}; "
                           "row (d) is always Square on csim")
    check_eps(args.eps, (0.0, 1.0))
    manifest = BuildManifest.read(args.build_dir)
    model, _ = load_checkpoint(args.model or default_checkpoint())
    if args.dense_parent is None and args.model is None:
        args.dense_parent = default_dense_parent()
    x, y = load_mnist(split="test", limit=args.n)
    if list(x.shape[1:]) != list(manifest.input_shape):
        raise HashhlsError(f"build expects inputs of shape {manifest.input_shape}, MNIST is {list(x.shape[1:])}")
    targets = build_targets(args.build_dir, dense_parent=args.dense_parent, hashed_model=model)
    _check_model_is_the_build(model, targets["onnxruntime"], x, args)
    if args.dense_parent:
        parent, _ = load_checkpoint(args.dense_parent)
        parent.eval()
    else:
        parent = crafting_model(model, "dense")
        targets["dense float"] = targets["hashed float"]  # same function: keep the column
    sources = {"(a) dense float parent": parent, "(b) hashed float": crafting_model(model, "hashed"),
               "(c) fixed-point twin": crafting_model(model, "fixed")}
    advs = []
    for label, m in sources.items():
        adv = craft(args.attack, m, x, y, [args.eps])
        adv.crafted_on = label
        advs.append(adv)
    adv = craft("square", targets["csim"], x, y, [args.eps], max_queries=args.queries)
    adv.crafted_on = "(d) csim, black-box"
    advs.append(adv)
    results = [replay(a, targets) for a in advs]
    with atomic_dir(args.output, force=args.force) as tmp:
        write_report(tmp, advs, results, args.build_dir)
    print(transfer_table(transfer_matrix(results)))
    print(f"report: {args.output}/report.md")
    return 0


def _check_model_is_the_build(model, build_onnx_predict, x, args: argparse.Namespace) -> None:
    """Crafting on one model and replaying on the build of another would measure nothing: refuse it.

    The build's ``model.onnx`` is the float model exactly as built (GI folded), so on the same
    inputs its logits equal the checkpoint's up to float rounding.
    """
    import numpy as np
    import torch

    from ...core.errors import HashhlsError

    with torch.no_grad():
        ours = model.eval()(torch.from_numpy(x[:16])).numpy()
    built = np.asarray(build_onnx_predict(x[:16]))
    scale = max(1.0, float(np.abs(built).max()))
    if ours.shape != built.shape or float(np.abs(ours - built).max()) > 1e-3 * scale:
        which = args.model or "the bundled model"
        raise HashhlsError(f"{args.build_dir} was not built from {which} (its model.onnx computes different "
                           "outputs); pass the checkpoint it was built from with --model")
