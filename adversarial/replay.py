"""Replay clean and adversarial inputs through every implementation of a built model.

The question hashhls exists to answer: do adversarial examples crafted in
software still fool the fixed-point hardware? ``replay`` runs the same inputs
through the float torch model(s), ONNX Runtime, the bit-exact emulator and the
compiled C simulation of one build, and counts, per implementation, how many
of the inputs it classified correctly when clean are misclassified (or sent to
the attacker's target) when adversarial.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..core.errors import HashhlsError, InvalidFileError
from .advfile import CRAFTED_ON, AdvSet, _strict, distortion

log = logging.getLogger(__name__)

#: A predict function: float32 batch [N, *input_shape] -> scores [N, classes].
Predict = Callable[[np.ndarray], np.ndarray]

#: Column order of every table and plot.
TARGET_ORDER = ("dense float", "hashed float", "onnxruntime", "emulator", "csim")


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
    success_rate: list[float | None]  #: per eps: successes / eligible (None if none eligible)
    pred_clean: list[int] = field(repr=False, default_factory=list)
    pred_adv: list[list[int]] = field(repr=False, default_factory=list)


@dataclass
class ReplayResult:
    """One adversarial file replayed through every implementation: one row per budget in every table."""

    label: str  #: unique among the files of one report (see :func:`label_results`)
    attack: str
    crafted_on: str  #: a key of CRAFTED_ON
    n: int
    eps: list[float | None]  #: L-inf budgets; None for a budget-free attack
    linf: list[float]  #: mean L-inf distortion per eps
    l2: list[float]  #: mean L2 distortion per eps
    l0: list[float]  #: mean number of changed input values per eps
    queries: list[float] | None
    targets: list[TargetResult]
    agreement: dict[str, float]  #: fraction of adversarial inputs on which each target agrees with csim/emulator
    file: str = ""
    target_mode: str = "untargeted"  #: untargeted, or how the targets were chosen (success = reached them)
    transfer_from: str | None = None  #: the crafting model, when it is not the build's model
    provenance: dict | None = None

    @property
    def budgeted(self) -> bool:
        return all(e is not None for e in self.eps)

    @property
    def where(self) -> str:
        return CRAFTED_ON.get(self.crafted_on, self.crafted_on)

    def row_labels(self) -> list[str]:
        """One label per budget: the rows of the transfer matrix."""
        if self.budgeted:
            return [f"{self.label}, eps {e:g}" for e in self.eps]
        return [f"{self.label} (mean L2 {d:.2f})" if len(self.eps) == 1 else f"{self.label} #{i} (mean L2 {d:.2f})"
                for i, d in enumerate(self.l2)]

    def to_json_dict(self) -> dict:
        d = asdict(self)
        for t in d["targets"]:
            t.pop("pred_clean")
            t.pop("pred_adv")
        d["rows"] = self.row_labels()
        return _strict(d)


def base_label(adv: AdvSet, transfer_from: str | None = None) -> str:
    """``pgd on hashed float``, ``cw on fixed-point twin, targeted (random)``, ``transfer from X: ...``."""
    label = f"{adv.attack} on {adv.where}"
    mode = adv.provenance.target_mode if adv.provenance is not None else ("targeted" if adv.targeted else "")
    if adv.targeted:
        label += f", targeted ({mode})" if mode not in ("", "targeted") else ", targeted"
    if transfer_from:
        label = f"transfer from {transfer_from}: {label}"
    return label


def label_results(results: list[ReplayResult]) -> None:
    """Make every result's label unique: add the file name where two agree, then a counter."""
    def dupes(rs):
        seen: dict[str, int] = {}
        for r in rs:
            seen[r.label] = seen.get(r.label, 0) + 1
        return {k for k, v in seen.items() if v > 1}

    d = dupes(results)
    for r in results:
        if r.label in d and r.file:
            r.label += f" [{Path(r.file).name}]"
    d = dupes(results)
    counters: dict[str, int] = {}
    for r in results:
        if r.label in d:
            counters[r.label] = counters.get(r.label, 0) + 1
            r.label += f" #{counters[r.label]}"


def _labels(scores: np.ndarray) -> np.ndarray:
    scores = np.asarray(scores)
    return scores.astype(np.int64) if scores.ndim == 1 else np.argmax(scores, axis=1)


def replay(adv: AdvSet, targets: dict[str, Predict], progress: bool = True, label: str | None = None,
           transfer_from: str | None = None) -> ReplayResult:
    """Run clean and adversarial inputs through each target and score the attack.

    Targeted sets (``adv.target_labels``) count a success only when the target label is reached.
    """
    from tqdm import tqdm

    results = []
    preds_adv_all = {}
    for name, predict in tqdm(list(targets.items()), desc="replay", unit="target", disable=None if progress else True,
                              leave=False):
        pc = _labels(predict(adv.x_clean))
        pa = [_labels(predict(xa)) for xa in adv.x_adv]
        preds_adv_all[name] = pa
        elig, succ, rate = [], [], []
        for p in pa:
            e, s = success_mask(pc, p, adv.y, adv.target_labels)
            elig.append(int(e.sum()))
            succ.append(int(s.sum()))
            rate.append(float(s.sum() / e.sum()) if e.sum() else None)
        results.append(TargetResult(name, float((pc == adv.y).mean()), elig, succ, rate,
                                    pc.tolist(), [p.tolist() for p in pa]))
    linf, l2, l0 = distortion(adv)
    queries = None
    if adv.queries is not None:
        q = np.asarray(adv.queries, dtype=np.float64).reshape(adv.x_adv.shape[0], -1)
        queries = q.mean(axis=1).tolist()
    ref = "csim" if "csim" in preds_adv_all else ("emulator" if "emulator" in preds_adv_all else None)
    agreement = {}
    if ref is not None:
        for name, pa in preds_adv_all.items():
            agreement[name] = float(np.mean([np.mean(a == b) for a, b in zip(pa, preds_adv_all[ref])]))
    eps = [float(e) if np.isfinite(e) else None for e in adv.eps]
    prov = adv.provenance
    mode = prov.target_mode if prov is not None else ("targeted" if adv.targeted else "untargeted")
    return ReplayResult(label or base_label(adv, transfer_from), adv.attack, adv.crafted_on, adv.n, eps, linf, l2,
                        l0, queries, results, agreement, file=adv.source, target_mode=mode,
                        transfer_from=transfer_from,
                        provenance=None if prov is None else json.loads(prov.to_json()))


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
                  hashed_model=None, allow_modified_weights: bool = False) -> dict[str, Predict]:
    """Every implementation of the built model, keyed by the names in :data:`TARGET_ORDER`.

    Args:
        build_dir: a ``hashhls build`` output directory (one csim build, reused for every batch).
        dense_parent: optional checkpoint of the dense (uncompressed) parent model.
        hashed_model: the float torch model; default: ``BUILD_DIR/model.onnx`` loaded back into torch.
        allow_modified_weights: accept weight files that differ from the build's recorded sha256
            (:func:`hashhls.codegen.manifest.verify_files`); checked before anything is loaded.
    """
    from ..codegen.onnx_to_torch import load_onnx_model
    from ..codegen.csim import load_build
    from ..codegen.emulator import Emulator
    from ..codegen.manifest import BuildManifest

    from ..codegen.manifest import verify_files

    build_dir = Path(build_dir)
    manifest = BuildManifest.read(build_dir)  # validates it is a hashhls build
    verify_files(build_dir, manifest, allow_modified_weights=allow_modified_weights)  # before any of it is read
    onnx_path = build_dir / "model.onnx"
    targets: dict[str, Predict] = {}
    if dense_parent is not None:
        from ..frontend.checkpoint import load_checkpoint

        parent, _ = load_checkpoint(dense_parent)
        targets["dense float"] = torch_predict(parent)
    targets["hashed float"] = torch_predict(hashed_model if hashed_model is not None else load_onnx_model(onnx_path))
    targets["onnxruntime"] = onnxruntime_predict(onnx_path)
    targets["emulator"] = Emulator.from_build(build_dir).predict
    targets["csim"] = load_build(build_dir, allow_modified_weights=allow_modified_weights).predict
    return targets


@dataclass
class BuildInfo:
    """What a report records about the build it replayed on."""

    dir: str
    model: dict | None  #: ModelIdentity as a dict (None for a build made before identities were recorded)
    board: str
    reuse_factor: int
    io_type: str
    input_precision: str
    precision: dict[str, dict[str, str]]  #: per layer: weight / bias / result / accum types
    project_hash: str

    @classmethod
    def from_manifest(cls, manifest, build_dir: str | Path) -> BuildInfo:
        return cls(str(build_dir), None if manifest.model is None else manifest.model.to_dict(), manifest.board,
                   int(manifest.reuse_factor), manifest.io_type, manifest.input_precision,
                   {layer.name: dict(layer.precision) for layer in manifest.layers}, manifest.project_hash)

    @property
    def model_label(self) -> str:
        from ..codegen.identity import ModelIdentity

        return "unknown model" if self.model is None else ModelIdentity.from_dict(self.model).short


def read_build(build_dir: str | Path):
    """The manifest of a build directory; a one-line InvalidFileError for anything else (a report, a file)."""
    from ..codegen.manifest import MANIFEST_NAME, BuildManifest

    build_dir = Path(build_dir)
    if build_dir.is_dir() and not (build_dir / MANIFEST_NAME).exists() and (build_dir / "report.json").exists():
        raise InvalidFileError(f"{build_dir} is a replay report directory, expected a build directory "
                               "(from 'hashhls build')")
    return BuildManifest.read(build_dir)


def check_model(adv: AdvSet, manifest, build_dir: str | Path, allow_other_model: bool = False) -> str | None:
    """None if ``adv`` was crafted on the build's model; else the crafting model's label (a transfer experiment).

    Raises:
        InvalidFileError: the models differ (or either is unknown) and ``allow_other_model`` is False.
    """
    ours, theirs = manifest.model, adv.model
    if ours is not None and ours.same_model(theirs):
        return None
    if allow_other_model:
        return theirs.short if theirs is not None else "an unknown model"
    hint = "pass --allow-other-model to replay it as a transfer experiment"
    if theirs is None:
        raise InvalidFileError(f"{adv.source or 'the adversarial set'} does not record the model it was crafted on "
                               f"(written before hashhls 0.3?); {hint}")
    if ours is None:
        raise InvalidFileError(f"{build_dir} does not record the model it was built from (built before hashhls "
                               f"0.3?): rebuild it, or {hint}")
    raise InvalidFileError(f"{adv.source or 'the adversarial set'} was crafted on {theirs.short}, but {build_dir} is "
                           f"a build of {ours.short}; {hint}")


def twin_note(adv: AdvSet, manifest) -> str | None:
    """For sets crafted on a fixed-point twin: which twin, relative to this build (None if it is this build's)."""
    if adv.crafted_on != "fixed" or adv.provenance is None:
        return None
    prov = adv.provenance
    if prov.build_id == manifest.project_hash:
        return None
    if prov.build_id is None:
        ours = {layer.name: dict(layer.precision) for layer in manifest.layers}
        same = prov.build_precision == ours
        return ("in-memory twin at the default precision, the same types as this build" if same else
                "in-memory twin at the default precision, NOT this build's types")
    return f"twin of another build ({prov.build_id[:8]})"


def replay_build(build_dir: str | Path, advs: Sequence[AdvSet], *, allow_other_model: bool = False,
                 dense_parent: str | Path | None = None, hashed_model=None, progress: bool = True,
                 targets: dict[str, Predict] | None = None, allow_modified_weights: bool = False
                 ) -> tuple[BuildInfo, list[ReplayResult]]:
    """Replay each set through every implementation of the build (one result per set, labelled uniquely).

    Every set must have been crafted on the build's model (its provenance's fingerprint), unless
    ``allow_other_model``: then it is replayed as a transfer experiment, labelled ``transfer from <model>``.
    """
    manifest = read_build(build_dir)
    transfer = []
    for adv in advs:
        if tuple(adv.x_clean.shape[1:]) != tuple(manifest.input_shape):
            raise InvalidFileError(f"{adv.source or 'adversarial set'}: inputs have shape "
                                   f"{tuple(adv.x_clean.shape[1:])}, the build expects {tuple(manifest.input_shape)}")
        transfer.append(check_model(adv, manifest, build_dir, allow_other_model))
    if targets is None:
        targets = build_targets(build_dir, dense_parent=dense_parent, hashed_model=hashed_model,
                                allow_modified_weights=allow_modified_weights)
    results = []
    for adv, other in zip(advs, transfer):
        label = base_label(adv, other)
        note = twin_note(adv, manifest)
        if note:
            label += f" ({note})"
        results.append(replay(adv, targets, progress=progress, label=label, transfer_from=other))
    label_results(results)
    return BuildInfo.from_manifest(manifest, build_dir), results
