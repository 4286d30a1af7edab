"""Replay clean and adversarial inputs through every implementation of a built model.

The question hashhls exists to answer: do adversarial examples crafted in
software still fool the fixed-point hardware? ``replay`` runs the same inputs
through the float torch model(s), ONNX Runtime, the bit-exact emulator and the
compiled C simulation of one build, and counts, per implementation, how many
of the inputs it classified correctly when clean are misclassified (or sent to
the attacker's target) when adversarial.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..core.errors import HashhlsError

log = logging.getLogger(__name__)

#: A predict function: float32 batch [N, *input_shape] -> scores [N, classes].
Predict = Callable[[np.ndarray], np.ndarray]

#: Column order of every table and plot.
TARGET_ORDER = ("dense float", "hashed float", "onnxruntime", "emulator", "csim")


@dataclass
class AdvSet:
    """Adversarial examples as written by ``hashhls attack`` (``.npz``).

    ``x_adv`` has one slice per budget: shape ``[E, N, *input_shape]``.
    """

    x_clean: np.ndarray
    y: np.ndarray
    x_adv: np.ndarray
    eps: np.ndarray
    attack: str = "unknown"
    crafted_on: str = "unknown"
    target_labels: np.ndarray | None = None
    queries: np.ndarray | None = None
    source: str = ""

    @property
    def n(self) -> int:
        return int(self.y.shape[0])

    @classmethod
    def load(cls, path: str | Path, input_shape: Sequence[int] | None = None,
             value_range: tuple[float, float] = (0.0, 1.0)) -> AdvSet:
        """Read and validate an adversarial file; HashhlsError names what is wrong."""
        path = Path(path)
        if not path.is_file():
            raise HashhlsError(f"adversarial file not found: {path}")
        try:
            with np.load(path, allow_pickle=False) as z:
                data = {k: z[k] for k in z.files}
        except Exception as e:  # zipfile/format errors of every kind
            raise HashhlsError(f"cannot read adversarial file {path}: {e}") from None
        for key in ("x_clean", "y", "x_adv"):
            if key not in data:
                raise HashhlsError(f"adversarial file {path} has no array {key!r} (not written by 'hashhls attack'?)")
        x_clean, y, x_adv = data["x_clean"], data["y"], data["x_adv"]
        if x_adv.ndim == x_clean.ndim:
            x_adv = x_adv[None]
        eps = np.atleast_1d(data.get("eps", np.full(x_adv.shape[0], np.nan))).astype(np.float64)
        for name, arr in (("x_clean", x_clean), ("x_adv", x_adv)):
            if arr.dtype != np.float32:
                raise HashhlsError(f"{path}: {name} must be float32, got {arr.dtype}")
            if not np.isfinite(arr).all():
                raise HashhlsError(f"{path}: {name} contains NaN or infinity")
            lo, hi = value_range
            if arr.size and (arr.min() < lo or arr.max() > hi):
                raise HashhlsError(f"{path}: {name} has values outside the valid range [{lo}, {hi}]")
        if not np.issubdtype(y.dtype, np.integer) or y.ndim != 1:
            raise HashhlsError(f"{path}: y must be a 1-D integer label array, got {y.dtype} {y.shape}")
        if x_clean.shape[0] != y.shape[0] or x_adv.shape[1:] != x_clean.shape:
            raise HashhlsError(f"{path}: shapes do not match: x_clean {x_clean.shape}, y {y.shape}, x_adv {x_adv.shape}")
        if eps.shape[0] != x_adv.shape[0]:
            raise HashhlsError(f"{path}: {eps.shape[0]} eps values for {x_adv.shape[0]} adversarial sets")
        if input_shape is not None and tuple(x_clean.shape[1:]) != tuple(input_shape):
            raise HashhlsError(f"{path}: inputs have shape {tuple(x_clean.shape[1:])}, the build expects "
                               f"{tuple(input_shape)}")
        target = data.get("target_labels")
        queries = data.get("queries")
        return cls(x_clean, y.astype(np.int64), x_adv, eps, str(data.get("attack", "unknown")),
                   str(data.get("crafted_on", "unknown")), target, queries, str(path))


def success_mask(pred_clean: np.ndarray, pred_adv: np.ndarray, y: np.ndarray,
                 target_labels: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Which inputs count, and which of those the attack won.

    Only inputs the model classified correctly when clean are eligible; an
    untargeted attack wins when the adversarial label differs from the true
    one, a targeted attack when it equals the target.

    Returns:
        ``(eligible, success)`` boolean masks, ``success`` implies ``eligible``.
    """
    eligible = pred_clean == y
    won = pred_adv != y if target_labels is None else pred_adv == target_labels
    return eligible, eligible & won


@dataclass
class TargetResult:
    """How one implementation fared."""

    name: str
    clean_accuracy: float
    eligible: list[int]  #: per eps: inputs correct when clean
    successes: list[int]  #: per eps
    success_rate: list[float]  #: per eps: successes / eligible (nan if none eligible)
    pred_clean: list[int] = field(repr=False, default_factory=list)
    pred_adv: list[list[int]] = field(repr=False, default_factory=list)


@dataclass
class ReplayResult:
    attack: str
    crafted_on: str
    n: int
    eps: list[float]
    linf: list[float]  #: mean L-inf distortion per eps
    l2: list[float]  #: mean L2 distortion per eps
    queries: list[float] | None
    targets: list[TargetResult]
    agreement: dict[str, float]  #: fraction of adversarial inputs on which each target agrees with csim/emulator

    def to_json_dict(self) -> dict:
        d = asdict(self)
        for t in d["targets"]:
            t.pop("pred_clean")
            t.pop("pred_adv")
        return d


def _labels(scores: np.ndarray) -> np.ndarray:
    scores = np.asarray(scores)
    return scores.astype(np.int64) if scores.ndim == 1 else np.argmax(scores, axis=1)


def replay(adv: AdvSet, targets: dict[str, Predict], progress: bool = True) -> ReplayResult:
    """Run clean and adversarial inputs through each target and score the attack."""
    from tqdm import tqdm

    results = []
    preds_adv_all = {}
    for name, predict in tqdm(list(targets.items()), desc="replay", unit="target", disable=None if progress else True):
        pc = _labels(predict(adv.x_clean))
        pa = [_labels(predict(xa)) for xa in adv.x_adv]
        preds_adv_all[name] = pa
        elig, succ, rate = [], [], []
        for p in pa:
            e, s = success_mask(pc, p, adv.y, adv.target_labels)
            elig.append(int(e.sum()))
            succ.append(int(s.sum()))
            rate.append(float(s.sum() / e.sum()) if e.sum() else float("nan"))
        results.append(TargetResult(name, float((pc == adv.y).mean()), elig, succ, rate,
                                    pc.tolist(), [p.tolist() for p in pa]))
    delta = (adv.x_adv - adv.x_clean[None]).reshape(adv.x_adv.shape[0], adv.n, -1).astype(np.float64)
    linf = np.abs(delta).max(axis=2).mean(axis=1).tolist()
    l2 = np.sqrt((delta**2).sum(axis=2)).mean(axis=1).tolist()
    queries = None
    if adv.queries is not None:
        q = np.asarray(adv.queries, dtype=np.float64).reshape(adv.x_adv.shape[0], -1)
        queries = q.mean(axis=1).tolist()
    ref = "csim" if "csim" in preds_adv_all else ("emulator" if "emulator" in preds_adv_all else None)
    agreement = {}
    if ref is not None:
        for name, pa in preds_adv_all.items():
            agreement[name] = float(np.mean([np.mean(a == b) for a, b in zip(pa, preds_adv_all[ref])]))
    return ReplayResult(adv.attack, adv.crafted_on, adv.n, adv.eps.tolist(), linf, l2, queries, results, agreement)


def torch_predict(model, batch_size: int = 2048) -> Predict:
    """Wrap a torch model as a numpy predict function (eval mode, no grad, batched)."""
    import torch

    model.eval()

    def predict(x: np.ndarray) -> np.ndarray:
        outs = []
        with torch.no_grad():
            for i in range(0, len(x), batch_size):
                outs.append(model(torch.from_numpy(np.ascontiguousarray(x[i:i + batch_size]))).numpy())
        return np.concatenate(outs) if outs else np.zeros((0, 0), np.float32)

    return predict


def onnxruntime_predict(onnx_path: str | Path) -> Predict:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return lambda x: sess.run(None, {name: np.ascontiguousarray(x, dtype=np.float32)})[0]


def build_targets(build_dir: str | Path, dense_parent: str | Path | None = None,
                  hashed_model=None) -> dict[str, Predict]:
    """Every implementation of the built model, keyed by the names in :data:`TARGET_ORDER`.

    Args:
        build_dir: a ``hashhls build`` output directory (one csim build, reused for every batch).
        dense_parent: optional checkpoint of the dense (uncompressed) parent model.
        hashed_model: the float torch model; default: ``BUILD_DIR/model.onnx`` loaded back into torch.
    """
    from ..codegen.onnx_to_torch import load_onnx_model
    from ..codegen.csim import load_build
    from ..codegen.emulator import Emulator
    from ..codegen.manifest import BuildManifest

    build_dir = Path(build_dir)
    BuildManifest.read(build_dir)  # validates it is a hashhls build
    onnx_path = build_dir / "model.onnx"
    targets: dict[str, Predict] = {}
    if dense_parent is not None:
        from ..frontend.checkpoint import load_checkpoint

        parent, _ = load_checkpoint(dense_parent)
        targets["dense float"] = torch_predict(parent)
    targets["hashed float"] = torch_predict(hashed_model if hashed_model is not None else load_onnx_model(onnx_path))
    targets["onnxruntime"] = onnxruntime_predict(onnx_path)
    targets["emulator"] = Emulator.from_build(build_dir).predict
    targets["csim"] = load_build(build_dir).predict
    return targets
