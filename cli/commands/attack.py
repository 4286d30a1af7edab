"""`hashhls attack`: craft adversarial examples on the bundled MNIST test images, with their provenance."""

from __future__ import annotations

import argparse

from ...core.terminal import safe

from ..options import add_output, add_threads, apply_threads

NAME = "attack"
HELP = ("Craft adversarial examples against a model (hashed float, dense materialisation, the fixed-point twin "
        "of a build, or a build's csim)")


def _eps_list(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad eps list {text!r}") from None


#: a copy of hashhls.adversarial.craft.ON_CHOICES, kept here so that --help does not import torch
#: (sw_tests/test_cli_startup.py checks the two agree)
ON_CHOICES = ("dense", "hashed", "fixed", "csim")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL.pt", nargs="?",
                        help="hashhls checkpoint (default: the model of --build, else the bundled model)")
    parser.add_argument("--attack", default="fgsm",
                        help="fgsm, bim, pgd, cw, deepfool, jsma, square, autoattack (APGD-CE + APGD-DLR + Square, "
                             "first success per input) (default fgsm)")
    parser.add_argument("--eps", type=_eps_list, default=[0.1],
                        help="L-inf budget(s), comma-separated for a sweep (default 0.1; ignored by cw/deepfool/jsma, "
                             "which are reported by their distortion)")
    parser.add_argument("--on", choices=ON_CHOICES, default="hashed",
                        help="craft on the hashed float model, its dense materialisation, the bit-exact fixed-point "
                             "twin (of --build DIR: its per-layer types; without --build: an in-memory twin at the "
                             "default precision ap_fixed<16,6,AP_RND_CONV,AP_SAT>), or query the csim of --build "
                             "(query-only attacks) (default hashed)")
    parser.add_argument("--build", metavar="DIR", help="a 'hashhls build' directory: its twin (--on fixed) or csim "
                                                       "(--on csim); its model when MODEL is not given")
    parser.add_argument("-n", type=int, default=1000, help="first N MNIST test images (default 1000)")
    parser.add_argument("--steps", type=int, default=None, help="iterations for bim/pgd/cw/deepfool")
    parser.add_argument("--target-mode", default="untargeted", choices=["untargeted", "random", "least-likely"],
                        help="targeted modes store their targets; success then means reaching the target")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", metavar="DIR", help="MNIST directory (default: bundled)")
    add_threads(parser)
    add_output(parser, "ADV.npz", "adversarial file to write (.npz)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    import numpy as np

    import hashhls
    from ...adversarial.advfile import check_output_adv

    from ...core.inputs import check_build_dir, check_checkpoint, check_data_dir, check_positive

    if args.model is not None:
        check_checkpoint(args.model, "attacks are crafted on a checkpoint from 'hashhls train'")
    if args.build is not None:
        check_build_dir(args.build)
    check_data_dir(args.data)
    check_positive(n=args.n, steps=args.steps)
    out = check_output_adv(args.output, args.force)
    apply_threads(args)
    hp = {} if args.steps is None else {"steps": args.steps}
    adv = hashhls.attack(args.model, args.attack, eps=args.eps, on=args.on, build=args.build, n=args.n,
                         target_mode=args.target_mode, seed=args.seed, data=args.data,
                         progress=not args.no_progress, **hp)
    adv.save(out, force=args.force)
    goal = "reached the target" if adv.targeted else "success"
    where = adv.where + (f" of {args.build}" if args.build and args.on in ("fixed", "csim") else "")
    for e, (rate, eligible), linf, l2 in zip(adv.eps, adv.success, *adv.distortion[:2]):
        budget = f"eps={e:g}" if np.isfinite(e) else "budget-free"
        print(safe(f"{adv.attack} {budget} on {where}: {goal} {100 * rate:.1f}% of {eligible} correctly classified; "
              f"mean L-inf {linf:.4f}, mean L2 {l2:.3f}"))
    print(f"wrote {safe(out)}")
    return 0
