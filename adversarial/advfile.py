"""The adversarial-file format (``.npz``): one reader and one writer, with the provenance of every example.

An adversarial file is what ``hashhls attack`` (and :func:`hashhls.attack`) writes and ``hashhls replay``
reads. It is a NumPy ``.npz`` archive (``allow_pickle=False``) holding:

========================= ===================================================================================
``x_clean``                float32 ``[N, *input_shape]``: the clean inputs, in [0, 1]
``y``                      int64 ``[N]``: their true labels
``x_adv``                  float32 ``[E, N, *input_shape]``: one adversarial set per budget
``eps``                    float64 ``[E]``: the L-inf budget of each set; NaN for budget-free attacks
                           (CW-L2, DeepFool, JSMA), which are described by their distortion instead
``target_labels``          int64 ``[N]`` (targeted attacks only): the class each input was pushed toward
``queries``                int64 ``[E, N]`` (query-only attacks only): model queries per input
``attack``, ``crafted_on`` 0-d strings (also in the provenance; kept for a quick look with ``np.load``)
``provenance``             0-d string: :class:`Provenance` as JSON
========================= ===================================================================================

``format`` (``hashhls-adversarial``) and ``version`` tag the file. Files written before provenance existed
(no ``provenance`` array) still load; replay then treats their model as unknown.
"""

from __future__ import annotations

import json
import math
import os
import zipfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..codegen.identity import ModelIdentity
from ..core.atomic import atomic_file, check_output_file
from ..core.errors import InvalidFileError, UsageError
from ..core.version import __version__

FORMAT = "hashhls-adversarial"
VERSION = 2
SUFFIX = ".npz"

#: Where examples can be crafted, and how every table names it.
CRAFTED_ON = {
    "dense": "dense float",
    "hashed": "hashed float",
    "fixed": "fixed-point twin",
    "csim": "csim (black-box)",
}
#: Labels written by hashhls 0.2 (before provenance), read back as the keys above.
_LEGACY_CRAFTED_ON = {"dense float": "dense", "hashed float": "hashed", "fixed twin": "fixed"}


@dataclass
class Provenance:
    """Where an adversarial set came from: enough to reproduce it and to refuse replaying it on the wrong model.

    Attributes:
        model: identity of the model the attacker had (the float model the set was crafted from, also when it
            was crafted on its fixed-point twin or its csim).
        crafted_on: a key of :data:`CRAFTED_ON`.
        build_id: for ``fixed`` / ``csim``: the project hash of the build whose twin / simulation was attacked;
            None for a fixed-point twin made in memory at the default precision (``--on fixed`` without
            ``--build``).
        build_precision: for ``fixed``: each layer's types, as the twin computed them (``{layer: {tensor: type}}``).
        attack: the attack's registry name; ``hyperparameters`` its keyword arguments (eps excluded).
        seed: the attack's seed; ``target_mode``: untargeted, random, least-likely or targeted.
        eps: the budgets (None for a budget-free attack).
        data: which inputs (``{"dataset": "mnist", "split": "test", "first": N}``, or ``{"dataset": "custom"}``).
        hashhls_version: of the hashhls that wrote the file.
    """

    model: ModelIdentity | None
    crafted_on: str
    attack: str
    hyperparameters: dict = field(default_factory=dict)
    seed: int = 0
    target_mode: str = "untargeted"
    eps: list[float | None] = field(default_factory=list)
    data: dict = field(default_factory=dict)
    build_id: str | None = None
    build_precision: dict | None = None
    hashhls_version: str = __version__

    def to_json(self) -> str:
        return json.dumps(_strict(asdict(self)), sort_keys=True, allow_nan=False)

    @classmethod
    def from_json(cls, text: str, path: str | Path) -> Provenance:
        try:
            d = json.loads(text)
            if not isinstance(d, dict):
                raise TypeError(f"expected a JSON object, got {type(d).__name__}")
            model = d.pop("model", None)
            if model is not None and not isinstance(model, dict):
                raise TypeError("model must be an object")
            prov = cls(model=None if model is None else ModelIdentity.from_dict(model), **d)
            _check_provenance(prov)
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as e:
            raise InvalidFileError(f"adversarial file {path} has a corrupt provenance record: {e}") from None
        if prov.crafted_on not in CRAFTED_ON:
            raise InvalidFileError(f"adversarial file {path}: unknown crafted_on {prov.crafted_on!r}")
        return prov


def _check_provenance(p: Provenance) -> None:
    """Field types (TypeError naming the field): a report formats every one of them."""
    for name, kinds in (("crafted_on", str), ("attack", str), ("target_mode", str), ("hashhls_version", str),
                        ("hyperparameters", dict), ("data", dict), ("eps", list), ("build_id", (str, type(None))),
                        ("build_precision", (dict, type(None)))):
        if not isinstance(getattr(p, name), kinds):
            raise TypeError(f"{name} has the wrong type ({type(getattr(p, name)).__name__})")
    if isinstance(p.seed, bool) or not isinstance(p.seed, int):
        raise TypeError(f"seed must be an integer, got {p.seed!r:.40}")
    if not all(e is None or (isinstance(e, (int, float)) and not isinstance(e, bool)) for e in p.eps):
        raise TypeError("eps must be a list of numbers or nulls")


def _scalar(path: Path, data: dict, key: str, kind: str, default=None):
    """A 0-d field of the archive as a Python str / int (InvalidFileError for any other shape or type)."""
    if key not in data:
        return default
    a = data[key]
    ok = a.ndim == 0 and (a.dtype.kind in "US" if kind == "str" else a.dtype.kind in "iu")
    if not ok:
        raise InvalidFileError(f"adversarial file {path}: {key!r} must be a single "
                               f"{'string' if kind == 'str' else 'integer'}, got {a.dtype} {a.shape}")
    return str(a) if kind == "str" else int(a)


def _strict(obj):
    """Replace NaN and infinities by None so that the JSON is strict (RFC 8259 has no NaN)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _strict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_strict(v) for v in obj]
    if isinstance(obj, np.generic):
        return _strict(obj.item())
    return obj


@dataclass
class AdvSet:
    """Adversarial examples with their clean inputs, labels and provenance (see the module docstring).

    ``x_adv`` has one slice per budget: shape ``[E, N, *input_shape]``.
    """

    x_clean: np.ndarray
    y: np.ndarray
    x_adv: np.ndarray
    eps: np.ndarray
    attack: str = "unknown"
    crafted_on: str = "hashed"  #: a key of CRAFTED_ON (or "unknown" for a legacy file)
    target_labels: np.ndarray | None = None
    queries: np.ndarray | None = None
    source: str = ""  #: the file it was read from ("" in memory)
    provenance: Provenance | None = None
    #: per budget (rate, eligible) on the model it was crafted on; set by :func:`hashhls.attack`, not stored
    success: list[tuple[float, int]] | None = field(default=None, repr=False, compare=False)

    @property
    def n(self) -> int:
        return int(self.y.shape[0])

    @property
    def budgeted(self) -> bool:
        """True for L-inf-budget attacks; False for budget-free ones (eps NaN), reported by distortion."""
        return bool(np.isfinite(self.eps).all())

    @property
    def targeted(self) -> bool:
        return self.target_labels is not None

    @property
    def where(self) -> str:
        """Where it was crafted, as every table names it."""
        return CRAFTED_ON.get(self.crafted_on, self.crafted_on)

    @property
    def distortion(self) -> tuple[list[float], list[float], list[float]]:
        """Per budget: mean L-inf, L2 and L0 (changed input values) of the perturbations."""
        return distortion(self)

    @property
    def model(self) -> ModelIdentity | None:
        return None if self.provenance is None else self.provenance.model

    # -- writing -------------------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike, force: bool = False) -> Path:
        """Write the set to ``path`` (``.npz``) atomically; refuses an existing file unless ``force``."""
        path = check_output_adv(path, force)
        arrays = {"format": np.array(FORMAT), "version": np.array(VERSION), "x_clean": self.x_clean,
                  "y": self.y.astype(np.int64), "x_adv": self.x_adv, "eps": self.eps.astype(np.float64),
                  "attack": np.array(self.attack), "crafted_on": np.array(self.crafted_on)}
        if self.queries is not None:
            arrays["queries"] = np.asarray(self.queries, dtype=np.int64)
        if self.target_labels is not None:
            arrays["target_labels"] = np.asarray(self.target_labels, dtype=np.int64)
        if self.provenance is not None:
            arrays["provenance"] = np.array(self.provenance.to_json())
        with atomic_file(path) as tmp, open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)
        return path

    # -- reading -------------------------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | os.PathLike, input_shape: Sequence[int] | None = None,
             value_range: tuple[float, float] = (0.0, 1.0)) -> AdvSet:
        """Read and validate an adversarial file; :class:`InvalidFileError` names the file and what is wrong."""
        path = Path(path)
        data = _read_npz(path)
        for key in ("x_clean", "y", "x_adv"):
            if key not in data:
                raise InvalidFileError(f"adversarial file {path} has no array {key!r} (not written by "
                                       "'hashhls attack'?)")
        fmt = _scalar(path, data, "format", "str")
        if fmt is not None and fmt != FORMAT:
            raise InvalidFileError(f"{path} is a {fmt!r:.60} file, expected an adversarial file ({FORMAT})")
        version = _scalar(path, data, "version", "int")
        if version is not None and version > VERSION:
            raise InvalidFileError(f"adversarial file {path} has version {version}; this hashhls "
                                   f"({__version__}) reads up to {VERSION}")
        attack = _scalar(path, data, "attack", "str", "unknown")
        crafted_on = _scalar(path, data, "crafted_on", "str", "unknown")
        provenance = _scalar(path, data, "provenance", "str")
        x_clean, y, x_adv = data["x_clean"], data["y"], data["x_adv"]
        if x_clean.ndim < 2 or x_clean.shape[0] == 0 or x_clean.size == 0:
            raise InvalidFileError(f"{path}: x_clean must be a non-empty batch (N, ...), got shape {x_clean.shape}")
        if x_adv.ndim == x_clean.ndim:
            x_adv = x_adv[None]
        if x_adv.ndim != x_clean.ndim + 1 or x_adv.shape[0] == 0:
            raise InvalidFileError(f"{path}: x_adv must be shaped (E, N, ...) or like x_clean {x_clean.shape}, got "
                                   f"{x_adv.shape}")
        eps = np.atleast_1d(data.get("eps", np.full(x_adv.shape[0], np.nan)))
        if eps.ndim != 1 or eps.dtype.kind not in "fiu":
            raise InvalidFileError(f"{path}: eps must be a 1-D array of numbers, got {eps.dtype} {eps.shape}")
        eps = eps.astype(np.float64)
        _check_arrays(path, x_clean, y, x_adv, eps, value_range, input_shape)
        target = data.get("target_labels")
        if target is not None:
            target = np.asarray(target)
            if target.shape != y.shape or not np.issubdtype(target.dtype, np.integer):
                raise InvalidFileError(f"{path}: target_labels must be {y.shape[0]} integer labels, got "
                                       f"{target.dtype} {target.shape}")
            target = target.astype(np.int64)
        queries = data.get("queries")
        if queries is not None and (queries.dtype.kind not in "iu" or queries.size == 0
                                    or queries.size % x_adv.shape[0] != 0):
            raise InvalidFileError(f"{path}: queries must be integer query counts, got {queries.dtype} "
                                   f"{queries.shape}")
        prov = Provenance.from_json(provenance, path) if provenance is not None else None
        crafted_on = prov.crafted_on if prov is not None else _LEGACY_CRAFTED_ON.get(crafted_on, crafted_on)
        return cls(x_clean, y.astype(np.int64), x_adv, eps, attack, crafted_on, target, queries, str(path), prov)


def distortion(adv: AdvSet) -> tuple[list[float], list[float], list[float]]:
    """Mean L-inf, L2 and L0 (changed input values) of each budget's perturbations."""
    delta = (adv.x_adv - adv.x_clean[None]).reshape(adv.x_adv.shape[0], adv.n, -1).astype(np.float64)
    linf = np.abs(delta).max(axis=2, initial=0.0).mean(axis=1)
    l2 = np.sqrt((delta**2).sum(axis=2)).mean(axis=1)
    l0 = (delta != 0).sum(axis=2).mean(axis=1)
    return linf.tolist(), l2.tolist(), l0.tolist()


def check_output_adv(path: str | os.PathLike, force: bool = False) -> Path:
    """Fail before any work unless ``path`` may be written as an adversarial file (``.npz``)."""
    path = Path(path)
    if path.suffix.lower() == ".npy":
        raise UsageError(f"output {path} is an .npy name; an adversarial file is an .npz archive")
    if path.suffix.lower() != SUFFIX and not path.is_dir():
        raise UsageError(f"output {path}: an adversarial file must end in {SUFFIX}")
    return check_output_file(path, force, what="adversarial output")


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    if path.is_dir():
        raise InvalidFileError(f"{path} is a directory, expected an adversarial file (.npz from 'hashhls attack')")
    if not path.is_file():
        raise InvalidFileError(f"adversarial file not found: {path}")
    with open(path, "rb") as f:
        head = f.read(6)
    if head.startswith(b"\x93NUMPY"):
        raise InvalidFileError(f"{path} is a single .npy array, expected an adversarial .npz archive written by "
                               "'hashhls attack'")
    if not zipfile.is_zipfile(path):
        raise InvalidFileError(f"cannot read adversarial file {path}: not an .npz archive")
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except Exception as e:  # noqa: BLE001 - zipfile/format errors of every kind
        raise InvalidFileError(f"cannot read adversarial file {path}: {type(e).__name__}: {e}") from None


def _check_arrays(path: Path, x_clean, y, x_adv, eps, value_range, input_shape) -> None:
    for name, arr in (("x_clean", x_clean), ("x_adv", x_adv)):
        if arr.dtype != np.float32:
            raise InvalidFileError(f"{path}: {name} must be float32, got {arr.dtype}")
        if not np.isfinite(arr).all():
            raise InvalidFileError(f"{path}: {name} contains NaN or infinity")
        lo, hi = value_range
        if arr.size and (arr.min() < lo or arr.max() > hi):
            raise InvalidFileError(f"{path}: {name} has values outside the valid range [{lo}, {hi}]")
    if not np.issubdtype(y.dtype, np.integer) or y.ndim != 1:
        raise InvalidFileError(f"{path}: y must be a 1-D integer label array, got {y.dtype} {y.shape}")
    if x_clean.shape[0] != y.shape[0] or x_adv.shape[1:] != x_clean.shape:
        raise InvalidFileError(f"{path}: shapes do not match: x_clean {x_clean.shape}, y {y.shape}, "
                               f"x_adv {x_adv.shape}")
    if eps.shape[0] != x_adv.shape[0]:
        raise InvalidFileError(f"{path}: {eps.shape[0]} eps values for {x_adv.shape[0]} adversarial sets")
    if input_shape is not None and tuple(x_clean.shape[1:]) != tuple(input_shape):
        raise InvalidFileError(f"{path}: inputs have shape {tuple(x_clean.shape[1:])}, the build expects "
                               f"{tuple(input_shape)}")
