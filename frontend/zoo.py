"""The model zoo: named architectures, hashed at a given compression, and their config.

A model is fully described by a :class:`ModelConfig` (name, compression,
hash seed, hash version and banks, optional GI); :func:`build_model` turns it
into an ``nn.Sequential``. Weight layer ``l`` (counting linear and conv layers
from 0) gets hash seed ``cfg.seed + l``. ``compression == 1`` builds the dense
equivalent with plain ``nn.Linear`` / ``nn.Conv2d``.

Hash version 2 (docs/hash-spec.md) gives each weight layer P banks, the lanes
of its hardware kernel; :data:`DEFAULT_BANKS` holds each architecture's
choice, clipped to what a layer allows (``P <= K`` and ``P <= fan-in``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import HashhlsError, InvalidFileError, UnsupportedModelError
from .gi import GIConfig
from .hashing import DEFAULT_HASH_VERSION, buckets_for, check_banks, check_version

#: Per model: dataset, input shape, and the layer list. A layer is
#: ("conv", in, out, kernel, padding), ("linear", in, out), ("relu",),
#: ("pool", size) or ("flatten",).
_ARCHS: dict[str, tuple[str, tuple[int, ...], list[tuple]]] = {
    # HashedNets' 3-layer network (Chen et al. 2015).
    "mnist-mlp": ("mnist", (1, 28, 28), [
        ("flatten",), ("linear", 784, 300), ("relu",), ("linear", 300, 100), ("relu",), ("linear", 100, 10),
    ]),
    "lenet5": ("mnist", (1, 28, 28), [
        ("conv", 1, 6, 5, 2), ("relu",), ("pool", 2),
        ("conv", 6, 16, 5, 0), ("relu",), ("pool", 2),
        ("flatten",), ("linear", 400, 120), ("relu",), ("linear", 120, 84), ("relu",), ("linear", 84, 10),
    ]),
    "cifar-convnet": ("cifar10", (3, 32, 32), [
        ("conv", 3, 32, 3, 1), ("relu",), ("pool", 2),
        ("conv", 32, 64, 3, 1), ("relu",), ("pool", 2),
        ("flatten",), ("linear", 64 * 8 * 8, 256), ("relu",), ("linear", 256, 10),
    ]),
}

MODEL_NAMES: tuple[str, ...] = tuple(_ARCHS)

#: Hash version 2: banks (= kernel lanes; the layer's reuse factor is ceil(fan-in / P)) per weight layer.
#: mnist-mlp and lenet5: chosen with the build's estimate (hashhls.codegen.estimate, measured address
#: units) among the P that divide the fan-in (no idle lanes) so that the 1/8 models fit the pynq-z2 with
#: BRAM at most 1/6 of the dense design's and a latency within 2x (here about 1.1x and 1.2x) of the dense
#: design given the same DSPs: each bank is one BRAM_18K (at most 1,024 words) or small enough for LUTRAM.
#: LeNet-5's first convolution has K = 19 at 1/8, which bounds its lanes (P <= K): 13 lanes, 2 steps.
#: cifar-convnet: divisors of its fan-ins, not fitted to a board.
DEFAULT_BANKS: dict[str, tuple[int, ...]] = {
    "mnist-mlp": (30, 10, 5),
    "lenet5": (13, 30, 10, 20, 6),
    "cifar-convnet": (9, 32, 64, 16),
}
NUM_CLASSES = 10
DEFAULT_CHECKPOINT = "mnist-mlp-c8.pt"
LENET5_CHECKPOINT = "lenet5-c8.pt"


def _weight_layers(name: str) -> list[tuple[int, int]]:
    """``(virtual weights, fan-in)`` of each weight layer of architecture ``name``."""
    layers = []
    for spec in _ARCHS[name][2]:
        if spec[0] == "linear":
            layers.append((spec[1] * spec[2], spec[1]))
        elif spec[0] == "conv":
            layers.append((spec[1] * spec[2] * spec[3] * spec[3], spec[1] * spec[3] * spec[3]))
    return layers


def _virtual_sizes(name: str) -> list[int]:
    return [n for n, _ in _weight_layers(name)]


def default_banks(name: str, compression: float) -> list[int]:
    """The architecture's :data:`DEFAULT_BANKS`, each clipped to ``min(K, fan-in)`` at this compression."""
    return [min(p, buckets_for(n, compression=compression), m)
            for p, (n, m) in zip(DEFAULT_BANKS[name], _weight_layers(name))]


@dataclass
class ModelConfig:
    """Everything needed to rebuild a zoo model (saved in checkpoints and ONNX metadata).

    Attributes:
        name: one of :data:`MODEL_NAMES`.
        compression: virtual / stored weights per layer, ``K = ceil(N*M / c)``;
            1 builds the dense model with plain ``nn.Linear`` / ``nn.Conv2d``.
        seed: base hash seed; weight layer ``l`` uses ``seed + l``.
        gi: gradient inhibition built into the model, or None.
        gi_layers: for GI ``sign`` mode, indices of the weight layers it acts
            on (None = all).
        hash_version: 1 or 2 (docs/hash-spec.md) for the hashed layers.
        banks: version 2 only, P per weight layer; None = :func:`default_banks`.
        input_shape, num_classes, dataset: derived from ``name``.
    """

    name: str
    compression: float = 1.0
    seed: int = 0
    gi: GIConfig | None = None
    gi_layers: list[int] | None = None
    hash_version: int = DEFAULT_HASH_VERSION
    banks: list[int] | None = None
    input_shape: list[int] = field(init=False)
    num_classes: int = field(init=False)
    dataset: str = field(init=False)

    def __post_init__(self) -> None:
        if self.name not in _ARCHS:
            raise HashhlsError(f"unknown model {self.name!r} (expected one of {', '.join(MODEL_NAMES)})")
        try:
            self.compression = float(self.compression)
        except (TypeError, ValueError):
            raise HashhlsError(f"compression must be a number, got {self.compression!r}") from None
        if not (math.isfinite(self.compression) and self.compression >= 1):
            raise HashhlsError(f"compression must be a finite number >= 1, got {self.compression}")
        sizes = _virtual_sizes(self.name)
        if self.compression > min(sizes):
            raise HashhlsError(f"compression {self.compression:g} is out of range for {self.name}: its smallest "
                               f"layer has {min(sizes)} weights, so K would be below 1 (use compression <= "
                               f"{min(sizes)})")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed <= 2**32 - len(sizes):
            raise HashhlsError(f"hash seed must be an integer in [0, {2**32 - len(sizes)}], got {self.seed!r}")
        if self.gi_layers is not None:
            if self.gi is None or not self.gi.mode.acts_on_weights:
                raise HashhlsError("GI layers can only be chosen for the GI weight modes (sign, mult)")
            bad = [i for i in self.gi_layers if not 0 <= int(i) < len(sizes)]
            if bad:
                raise HashhlsError(f"GI layer index {bad[0]} out of range: {self.name} has {len(sizes)} weight "
                                   f"layers (0..{len(sizes) - 1})")
            self.gi_layers = sorted({int(i) for i in self.gi_layers})
        self._check_hash()
        dataset, shape, _ = _ARCHS[self.name]
        self.dataset, self.input_shape, self.num_classes = dataset, list(shape), NUM_CLASSES

    def _check_hash(self) -> None:
        try:
            self.hash_version = check_version(self.hash_version)
        except ValueError as e:
            raise UnsupportedModelError(f"model {self.name}: {e}") from None
        if self.hash_version == 1:
            if self.banks is not None:
                raise UnsupportedModelError(f"model {self.name}: banks need hash version 2 (got banks {self.banks} "
                                            f"with version 1)")
            return
        if not self.hashed:
            raise UnsupportedModelError(f"model {self.name}: hash version {self.hash_version} needs a hashed model "
                                        f"(compression > 1); compression 1 builds the dense model")
        layers = _weight_layers(self.name)
        if self.banks is None:
            self.banks = default_banks(self.name, self.compression)
        if not isinstance(self.banks, (list, tuple)) or len(self.banks) != len(layers):
            raise UnsupportedModelError(f"model {self.name} has {len(layers)} weight layers, so banks must list "
                                        f"{len(layers)} values, got {self.banks!r}")
        self.banks = [int(p) if not isinstance(p, bool) and isinstance(p, int) else p for p in self.banks]
        for i, (p, (n, m)) in enumerate(zip(self.banks, layers)):
            try:
                check_banks(p, buckets_for(n, compression=self.compression), m, n)
            except ValueError as e:
                raise UnsupportedModelError(f"model {self.name}, weight layer {i}: {e}") from None

    @property
    def hashed(self) -> bool:
        return self.compression > 1

    def to_json(self) -> str:
        d = {
            "name": self.name, "compression": self.compression, "seed": self.seed,
            "input_shape": self.input_shape, "num_classes": self.num_classes, "dataset": self.dataset,
            "gi": None if self.gi is None else self.gi.to_dict(), "gi_layers": self.gi_layers,
        }
        if self.hash_version != 1:  # a v1 config is written exactly as before version 2 existed
            d.update(hash_version=self.hash_version, banks=self.banks)
        return json.dumps(d, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ModelConfig:
        """Parse :meth:`to_json` output; the derived fields must match the model name."""
        try:
            d = json.loads(text)
            if not isinstance(d, dict):
                raise TypeError(f"expected a JSON object, got {type(d).__name__}")
            if not isinstance(d.get("name"), str):
                raise TypeError(f"name must be a string, got {d.get('name')!r:.40}")
            for key in ("compression", "seed"):
                if isinstance(d.get(key), bool) or not isinstance(d.get(key), (int, float)):
                    raise TypeError(f"{key} must be a number, got {d.get(key)!r:.40}")
            if d.get("gi") is not None and not isinstance(d["gi"], dict):
                raise TypeError(f"gi must be an object, got {d['gi']!r:.40}")
            if d.get("gi_layers") is not None and not (
                    isinstance(d["gi_layers"], list)
                    and all(isinstance(i, int) and not isinstance(i, bool) for i in d["gi_layers"])):
                raise TypeError(f"gi_layers must be a list of integers, got {d['gi_layers']!r:.40}")
            gi = GIConfig.from_dict(d.get("gi"))
            cfg = cls(str(d["name"]), d["compression"], d["seed"], gi, d.get("gi_layers"),
                      d.get("hash_version", DEFAULT_HASH_VERSION), d.get("banks"))
        except HashhlsError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError, RecursionError) as e:
            raise InvalidFileError(f"invalid model config: {e}") from None
        for k in ("input_shape", "num_classes", "dataset"):
            if k in d and d[k] != getattr(cfg, k):
                raise HashhlsError(f"invalid model config: {k}={d[k]!r} does not match model {cfg.name}")
        return cfg


def build_model(cfg: ModelConfig):  # -> nn.Sequential (torch imported lazily by callers' choice)
    """Build the ``nn.Sequential`` for ``cfg``, with GI applied if ``cfg.gi`` is set.

    The result's ``state_dict`` keys match a checkpoint saved from a model
    built by the same config (strict loading works, GI included).
    """
    from torch import nn

    from .gi import apply_gi
    from .layers import HashedConv2d, HashedLinear

    mods: list[nn.Module] = []
    layer = 0

    def hashing(layer: int) -> dict:
        banks = cfg.banks[layer] if cfg.banks is not None else None
        return dict(compression=cfg.compression, seed=cfg.seed + layer, hash_version=cfg.hash_version, banks=banks)

    for spec in _ARCHS[cfg.name][2]:
        kind = spec[0]
        if kind == "linear":
            _, i, o = spec
            mods.append(HashedLinear(i, o, **hashing(layer)) if cfg.hashed else nn.Linear(i, o))
            layer += 1
        elif kind == "conv":
            _, i, o, k, p = spec
            mods.append(HashedConv2d(i, o, k, padding=p, **hashing(layer)) if cfg.hashed else nn.Conv2d(i, o, k, padding=p))
            layer += 1
        elif kind == "relu":
            mods.append(nn.ReLU())
        elif kind == "pool":
            mods.append(nn.MaxPool2d(spec[1]))
        elif kind == "flatten":
            mods.append(nn.Flatten())
    model = nn.Sequential(*mods)
    if cfg.gi is not None:
        model = apply_gi(model, cfg.gi, cfg.gi_layers)
    return model


@dataclass(frozen=True)
class StoredWords:
    """The one definition of what a network stores: weight words (K per hashed layer, N*M per dense one)
    plus bias words. Reported as both parts wherever hashhls prints a count (train, build summary)."""

    weights: int
    biases: int

    @property
    def total(self) -> int:
        return self.weights + self.biases

    def __str__(self) -> str:
        return f"{self.total:,} words ({self.weights:,} weights + {self.biases:,} biases)"


def stored_words(model) -> StoredWords:
    """What ``model`` stores: every parameter named ``*bias`` is a bias word, every other one a weight word."""
    weights = biases = 0
    for name, p in model.named_parameters():
        if name.rsplit(".", 1)[-1] == "bias":
            biases += p.numel()
        else:
            weights += p.numel()
    return StoredWords(weights, biases)


def stored_weights(model) -> int:
    """Stored words, weights and biases together (:attr:`StoredWords.total`)."""
    return stored_words(model).total


def default_checkpoint() -> Path:
    """The bundled default checkpoint (mnist-mlp, compression 8, seed 0)."""
    path = Path(__file__).resolve().parent / "pretrained" / DEFAULT_CHECKPOINT
    if not path.is_file():
        raise HashhlsError(f"bundled default checkpoint is missing: {path} (run scripts/train_default.py)")
    return path


def lenet5_checkpoint() -> Path:
    """The bundled LeNet-5 checkpoint (lenet5, compression 8, seed 0; record in ``pretrained/lenet5-c8.md``)."""
    path = Path(__file__).resolve().parent / "pretrained" / LENET5_CHECKPOINT
    if not path.is_file():
        raise HashhlsError(f"bundled LeNet-5 checkpoint is missing: {path} (run scripts/train_default.py "
                           f"--model lenet5)")
    return path


def default_dense_parent() -> Path:
    """The bundled dense parent of the default model (mnist-mlp, compression 1, same recipe and seed)."""
    path = Path(__file__).resolve().parent / "pretrained" / "mnist-mlp-dense.pt"
    if not path.is_file():
        raise HashhlsError(f"bundled dense parent is missing: {path}")
    return path
