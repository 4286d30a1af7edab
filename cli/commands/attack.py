"""`hashhls attack`: craft adversarial examples on the bundled MNIST test images."""

from __future__ import annotations

import argparse

NAME = "attack"
HELP = "Craft adversarial examples against a model (float, hashed, dense parent or fixed-point twin)"

ON_CHOICES = ("hashed", "dense", "fixed")


def _eps_list(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad eps list {text!r}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL.pt", nargs="?", help="hashhls checkpoint (default: bundled model)")
    parser.add_argument("--attack", default="fgsm", help="fgsm, bim, pgd, cw, deepfool, jsma, square (default fgsm)")
    parser.add_argument("--eps", type=_eps_list, default=[0.1],
                        help="L-inf budget(s), comma-separated for a sweep (default 0.1; ignored by cw/deepfool/jsma)")
    parser.add_argument("--on", choices=ON_CHOICES, default="hashed",
                        help="craft on the hashed float model, its dense materialisation, or the bit-exact "
                             "fixed-point twin at ap_fixed<16,6,AP_RND_CONV,AP_SAT> (default hashed)")
    parser.add_argument("-n", type=int, default=1000, help="first N MNIST test images (default 1000)")
    parser.add_argument("--steps", type=int, default=None, help="iterations for bim/pgd/cw/deepfool")
    parser.add_argument("--target-mode", default="untargeted", choices=["untargeted", "random", "least-likely"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", metavar="DIR", help="MNIST directory (default: bundled)")
    parser.add_argument("-o", "--output", required=True, metavar="ADV.npz")


def run(args: argparse.Namespace) -> int:
    from ...core.errors import HashhlsError
    from ...adversarial.craft import craft, crafting_model, save_adv
    from ...frontend.checkpoint import load_checkpoint
    from ...frontend.datasets import load_mnist
    from ...frontend.zoo import default_checkpoint

    if args.n < 1:
        raise HashhlsError(f"-n must be >= 1, got {args.n}")
    model, cfg = load_checkpoint(args.model or default_checkpoint())
    if cfg.dataset != "mnist":
        raise HashhlsError(f"'hashhls attack' crafts on MNIST; {cfg.name} is a {cfg.dataset} model")
    x, y = load_mnist(args.data, split="test", limit=args.n)
    target_model = crafting_model(model, args.on)
    hp = {} if args.steps is None else {"steps": args.steps}
    adv = craft(args.attack, target_model, x, y, args.eps, target_mode=args.target_mode, seed=args.seed, **hp)
    adv.crafted_on = {"hashed": "hashed float", "dense": "dense float", "fixed": "fixed twin"}[args.on]
    save_adv(args.output, adv)
    import numpy as np
    import torch

    with torch.no_grad():
        for e, xa in zip(adv.eps, adv.x_adv):
            pc = target_model(torch.from_numpy(adv.x_clean)).argmax(1).numpy()
            pa = target_model(torch.from_numpy(xa)).argmax(1).numpy()
            ok = pc == adv.y
            rate = float((ok & (pa != adv.y)).sum() / max(1, ok.sum()))
            d = (xa - adv.x_clean).reshape(len(xa), -1)
            print(f"{args.attack} eps={e:g} on {adv.crafted_on}: success {100 * rate:.1f}% of {int(ok.sum())} "
                  f"correctly classified; mean L-inf {np.abs(d).max(1).mean():.4f}, "
                  f"mean L2 {np.linalg.norm(d, axis=1).mean():.3f}")
    print(f"wrote {args.output}")
    return 0
