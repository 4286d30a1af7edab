"""The stages of a cell (train -> build -> craft -> replay), what each depends on, and how each runs.

Each stage is a :class:`StageSpec`: its kind, its config (plain JSON), the keys of the stages it reads, and its
content address (:func:`hashhls.sweep.cache.stage_key`). :func:`plan` turns a study into the DAG: cells that
share a trained model or a build share the stage (same config + same upstream = same key). :func:`run_stage`
computes one stage in a worker (either engine calls the same function), through the public API:

=========== ======================================================== ==========================================
stage        computes                                                  outputs in its cache entry
=========== ======================================================== ==========================================
train        ``frontend.train.train_model`` (GI sign trained in)        ``model.pt``, ``metrics.json``
build        GI scale applied (``frontend.gi.apply_gi``), then          ``model.pt``, ``build/`` (export, HLS
             ``hashhls.build`` (ONNX export is its first step)         project, csim, summary, manifest)
craft        ``hashhls.attack`` on the build (site: dense, hashed,     ``adv.npz`` (with its provenance)
             its fixed-point twin, or its csim)
replay       ``adversarial.replay.replay_build`` on every target       ``replay.json``
=========== ======================================================== ==========================================
"""

from __future__ import annotations

import contextlib
import enum
import json
import logging
import os
import resource
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from .cache import StageWriter, discard, entry_dir, stage_key, verify
from .study import DEFAULT_BANKS, NO_GI, Cell, HashVersion, Study, cell_banks


class StageKind(str, enum.Enum):
    TRAIN = "train"
    BUILD = "build"
    CRAFT = "craft"
    REPLAY = "replay"


#: Scheduling order: later stages first, so that cells finish (and show up in the results) early.
PRIORITY = {StageKind.REPLAY: 0, StageKind.CRAFT: 1, StageKind.BUILD: 2, StageKind.TRAIN: 3}


@dataclass(frozen=True)
class Resources:
    """What one stage asks of a worker (Ray's ``num_cpus`` / ``memory``; the local pool runs one per worker)."""

    cpus: float
    memory_mb: int


#: Measured on the bundled models: a build (hls4ml + g++ csim) takes one core and about 400 MB.
RESOURCES = {
    StageKind.TRAIN: Resources(1, 800),
    StageKind.BUILD: Resources(1, 400),
    StageKind.CRAFT: Resources(1, 600),
    StageKind.REPLAY: Resources(1, 400),
}


@dataclass(frozen=True)
class StageSpec:
    kind: StageKind
    config: dict
    deps: tuple[str, ...]  #: upstream keys: train <- build <- craft; replay reads (build, craft)

    @property
    def key(self) -> str:
        return stage_key(self.kind.value, self.config, list(self.deps))

    def to_dict(self) -> dict:
        return {"kind": self.kind.value, "config": self.config, "deps": list(self.deps), "key": self.key}

    @classmethod
    def from_dict(cls, d: dict) -> StageSpec:
        return cls(StageKind(d["kind"]), d["config"], tuple(d["deps"]))


@dataclass
class Plan:
    """The DAG of a study: every distinct stage once, and each cell's chain of stage keys."""

    stages: dict[str, StageSpec]
    cells: list[tuple[Cell, dict[str, str]]]  #: (cell, {kind: key})

    def dependents(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {k: [] for k in self.stages}
        for k, s in self.stages.items():
            for d in s.deps:
                out[d].append(k)
        return out


def _gi_split(gi: str) -> tuple[str | None, str | None]:
    """(trained-in GI, post-training GI): sign changes the weights and is trained; scale scales the logits."""
    if gi == NO_GI:
        return None, None
    return (gi, None) if gi.startswith("sign") else (None, gi)


def cell_stages(study: Study, cell: Cell) -> list[StageSpec]:
    """The four stages of one cell, upstream first."""
    trained_gi, post_gi = _gi_split(cell.gi)
    train_cfg = {
        "model": cell.model, "compression": cell.compression, "hash_seed": cell.hash_seed, "hash": cell.hash,
        "gi": trained_gi, "seed": cell.seed, "epochs": study.train.epochs, "limit": study.train.limit,
        "batch_size": study.train.batch_size}
    if cell.hash != HashVersion.V1.value:  # (v1 keys stay those of studies run before hash v2)
        train_cfg["banks"] = cell.banks
    train = StageSpec(StageKind.TRAIN, train_cfg, ())
    # (None for hash v2: a v2 model's banks fix its reuse factors, codegen.lanes)
    build = StageSpec(StageKind.BUILD, {
        "gi": post_gi, "precision": cell.precision, "reuse_factor": cell.reuse_factor, "board": study.board,
        "strict": study.strict},
        (train.key,))
    craft = StageSpec(StageKind.CRAFT, {
        "attack": cell.attack.name, "eps": cell.attack.eps, "hparams": dict(cell.attack.hparams),
        "site": cell.site, "n_images": study.n_images, "seed": study.attack_seed}, (build.key,))
    replay = StageSpec(StageKind.REPLAY, {}, (build.key, craft.key))
    return [train, build, craft, replay]


def plan(study: Study) -> Plan:
    stages: dict[str, StageSpec] = {}
    cells = []
    for cell in study.cells:
        chain = cell_stages(study, cell)
        for s in chain:
            stages.setdefault(s.key, s)
        cells.append((cell, {s.kind.value: s.key for s in chain}))
    return Plan(stages, cells)


# ---------------------------------------------------------------------------------------------------------
# Running one stage (in a worker process, local pool or Ray)
# ---------------------------------------------------------------------------------------------------------

def worker_setup() -> None:
    """One torch thread per worker, passive OpenMP waiting: workers share cores and must not spin."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ["OMP_NUM_THREADS"] = "1"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_stage(spec_dict: dict, results: str) -> dict:
    """Compute one stage into its cache entry (or reuse a verified entry) and return its completion record.

    Raises the stage's own error on failure (its temporary directory removed, nothing committed).
    """
    worker_setup()
    import torch

    torch.set_num_threads(1)
    spec = StageSpec.from_dict(spec_dict)
    results_dir = Path(results)
    entry = entry_dir(results_dir, spec.kind.value, spec.key)
    rec = verify(entry, spec.key)
    if rec is not None:
        return {**rec, "reused": True}
    discard(entry)
    upstream = [entry_dir(results_dir, _dep_kind(spec, i).value, k) for i, k in enumerate(spec.deps)]
    writer = StageWriter(results_dir, spec.kind.value, spec.key)
    t0, started = time.perf_counter(), time.time()
    with _captured_warnings() as warnings:
        try:
            info = _RUNNERS[spec.kind](spec.config, upstream, writer.tmp)
            seconds = time.perf_counter() - t0
            return writer.commit({"kind": spec.kind.value, "config": spec.config, "deps": list(spec.deps),
                                  "info": info, "warnings": warnings, "seconds": seconds, "started": started,
                                  "finished": time.time(), "host": socket.gethostname(), "pid": os.getpid(),
                                  "peak_rss_mb": _peak_rss_mb()})
        finally:
            writer.abort()


@contextlib.contextmanager
def _captured_warnings():
    """hashhls' log warnings of one stage, kept for its record instead of printed over the progress bar."""
    messages: list[str] = []

    class _Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    logger = logging.getLogger("hashhls")
    handler, old = _Keep(logging.WARNING), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield messages
    finally:
        logger.removeHandler(handler)
        logger.propagate = old


def _dep_kind(spec: StageSpec, i: int) -> StageKind:
    return {StageKind.BUILD: [StageKind.TRAIN], StageKind.CRAFT: [StageKind.BUILD],
            StageKind.REPLAY: [StageKind.BUILD, StageKind.CRAFT]}[spec.kind][i]


def _run_train(cfg: dict, upstream: list[Path], out: Path) -> dict:
    from ..frontend.checkpoint import save_checkpoint
    from ..frontend.datasets import load_mnist
    from ..frontend.gi import GIConfig
    from ..frontend.train import train_model
    from ..frontend.zoo import ModelConfig

    mcfg = ModelConfig(cfg["model"], cfg["compression"], cfg["hash_seed"],
                       None if cfg["gi"] is None else GIConfig.parse(cfg["gi"]),
                       hash_version=HashVersion(cfg["hash"]).number, banks=cell_banks(cfg.get("banks", DEFAULT_BANKS)))
    train = load_mnist(split="train", limit=cfg["limit"])
    test = load_mnist(split="test")
    model, metrics = train_model(mcfg, train, test, epochs=cfg["epochs"], batch_size=cfg["batch_size"],
                                 seed=cfg["seed"], progress=False)
    save_checkpoint(out / "model.pt", model, mcfg, metrics)
    keep = {k: metrics[k] for k in ("test_accuracy", "train_accuracy", "epochs", "train_samples", "stored_weights")}
    (out / "metrics.json").write_text(json.dumps(metrics, sort_keys=True, indent=1))
    return keep


def _run_build(cfg: dict, upstream: list[Path], out: Path) -> dict:
    import hashhls
    from ..frontend.checkpoint import load_checkpoint, save_checkpoint
    from ..frontend.datasets import load_mnist
    from ..frontend.gi import GIConfig, apply_gi
    from ..frontend.train import evaluate

    src = upstream[0] / "model.pt"
    model, mcfg = load_checkpoint(src)
    if cfg["gi"] is not None:
        from dataclasses import replace

        gi = GIConfig.parse(cfg["gi"])
        model, mcfg = apply_gi(model, gi), replace(mcfg, gi=gi)
    save_checkpoint(out / "model.pt", model, mcfg, {})
    x, y = load_mnist(split="test")
    b = hashhls.build(out / "model.pt", board=cfg["board"], output=out / "build", precision=cfg["precision"],
                      reuse_factor=cfg["reuse_factor"], strict=cfg["strict"], csim=True)
    m = b.manifest
    return {"float_test_accuracy": evaluate(model, x, y),
            "precision": {layer.name: dict(layer.precision) for layer in m.layers},
            "reuse_factors": {layer.name: layer.attrs["reuse_factor"] for layer in m.layers
                              if "reuse_factor" in layer.attrs},
            "project_hash": m.project_hash, "model": None if m.model is None else m.model.short}


def _run_craft(cfg: dict, upstream: list[Path], out: Path) -> dict:
    import hashhls

    eps = 0.1 if cfg["eps"] is None else cfg["eps"]  # ignored by budget-free attacks
    adv = hashhls.attack(None, cfg["attack"], eps, on=cfg["site"], build=upstream[0] / "build", n=cfg["n_images"],
                         seed=cfg["seed"], **cfg["hparams"])
    adv.save(out / "adv.npz")
    return {"success_where_crafted": [list(s) for s in adv.success]}


def _run_replay(cfg: dict, upstream: list[Path], out: Path) -> dict:
    from ..adversarial.advfile import AdvSet
    from ..adversarial.replay import onnxruntime_predict, replay_build, torch_predict
    from ..codegen.csim import load_build
    from ..codegen.emulator import Emulator
    from ..codegen.onnx_to_torch import load_onnx_model

    build_dir = upstream[0] / "build"
    adv = AdvSet.load(upstream[1] / "adv.npz")
    onnx_path = build_dir / "model.onnx"
    # the build's targets, with one csim process: the sweep's workers already use every core
    targets = {"hashed float": torch_predict(load_onnx_model(onnx_path)), "onnxruntime": onnxruntime_predict(onnx_path),
               "emulator": Emulator.from_build(build_dir).predict, "csim": load_build(build_dir, workers=1).predict}
    _, results = replay_build(build_dir, [adv], targets=targets, progress=False)
    result = results[0].to_json_dict()
    result.pop("file", None)
    result.pop("provenance", None)
    (out / "replay.json").write_text(json.dumps(result, sort_keys=True, indent=1))
    return {}


_RUNNERS = {StageKind.TRAIN: _run_train, StageKind.BUILD: _run_build, StageKind.CRAFT: _run_craft,
            StageKind.REPLAY: _run_replay}

__all__ = ["PRIORITY", "RESOURCES", "Plan", "Resources", "StageKind", "StageSpec", "cell_stages", "plan",
           "run_stage"]
