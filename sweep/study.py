"""A study file (TOML): the axes of a grid of experiments, parsed into dataclasses and validated up front.

Every mistake is a one-line :class:`~hashhls.core.errors.UsageError` naming the key, raised before any
stage runs. The format (``studies/smoke.toml`` is a complete example)::

    [study]
    name = "smoke"
    n_images = 50             # first N official MNIST test images attacked and replayed
    board = "pynq-z2"
    strict = false            # true: a precision-guard warning fails the build (and its cells)

    [train]                   # fixed for the whole study: keeps small studies small
    epochs = 2                # default: the model's recipe
    limit = 300               # first N bundled training images (default: all 10,000)

    [axes]                    # each a list; the grid is their cross product
    model = ["mnist-mlp"]
    compression = [1, 8]
    gi = ["none", "sign:0.1", "scale:15"]   # sign is trained in; scale is applied to the trained model
    seed = [0]                # training seed (init, shuffling, augmentation)
    hash_seed = [0]
    hash = ["v1", "v2"]       # the hash spec version (v2: each layer's banks set its reuse factor)
    banks = ["default"]       # v2 only: "default" (the model's) or "P1,P2,..." per weight layer
    precision = ["auto"]      # or ap_fixed<...> types
    reuse_factor = [64]
    site = ["hashed", "fixed"]   # where examples are crafted: dense, hashed, fixed, csim

    [[attack]]                # one table per attack; a list value of a hyper-parameter is an axis too
    name = "fgsm"
    eps = [0.05, 0.1]         # budgets: one cell each

    [[attack]]
    name = "cw"               # budget-free: no eps
    steps = 20

    [[exclude]]               # optional filters: drop every cell matching all the keys of one table
    site = "csim"
    attack = "fgsm"

Impossible combinations that no filter removes are errors (``site = "csim"`` with a gradient attack,
``eps`` on a budget-free attack, a compression out of range for a model, banks without hash v2 or more banks
than a layer has buckets, a ``reuse_factor`` axis with hash v2).
"""

from __future__ import annotations

import enum
import itertools
import math
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from ..core.errors import UsageError


class Site(str, enum.Enum):
    """Where adversarial examples are crafted (the keys of ``hashhls.adversarial.advfile.CRAFTED_ON``)."""

    DENSE = "dense"
    HASHED = "hashed"
    FIXED = "fixed"
    CSIM = "csim"


class HashVersion(str, enum.Enum):
    """Hash spec versions (docs/hash-spec.md): v1, and v2 (blocked: each layer's banks, the model's defaults,
    fix its kernel's lanes and so its reuse factor)."""

    V1 = "v1"
    V2 = "v2"

    @property
    def number(self) -> int:
        return int(self.value[1:])


AUTO = "auto"
DEFAULT_BANKS = "default"  #: the banks axis value: the model's own (frontend.zoo.default_banks)
NO_GI = "none"
#: The [axes] keys, their defaults (one value each) and the order of the results table's columns.
AXIS_DEFAULTS: dict[str, list] = {
    "model": ["mnist-mlp"], "compression": [8.0], "gi": [NO_GI], "seed": [0], "hash_seed": [0],
    "hash": [HashVersion.V1.value], "banks": [DEFAULT_BANKS], "precision": [AUTO], "reuse_factor": [64], "site": [Site.HASHED.value],
}
STUDY_KEYS = {"name", "n_images", "board", "attack_seed", "strict"}
TRAIN_KEYS = {"epochs", "limit", "batch_size"}
TOP_KEYS = {"study", "train", "axes", "attack", "exclude"}


@dataclass(frozen=True)
class TrainSettings:
    """Training settings shared by every cell (None: the model's recipe / all bundled images)."""

    epochs: int | None = None
    limit: int | None = None
    batch_size: int | None = None


@dataclass(frozen=True)
class AttackSpec:
    """One point of the attack axis: a registry name, one budget (None if budget-free), hyper-parameters."""

    name: str
    eps: float | None
    hparams: tuple[tuple[str, object], ...] = ()

    @property
    def label(self) -> str:
        hp = ",".join(f"{k}={v}" for k, v in self.hparams)
        return self.name + (f"[{hp}]" if hp else "")


@dataclass(frozen=True)
class Cell:
    """One experiment: every axis value fixed."""

    model: str
    compression: float
    gi: str
    seed: int
    hash_seed: int
    hash: str
    banks: str
    precision: str
    reuse_factor: int | None  #: None for hash v2: its banks fix each layer's reuse factor (codegen.lanes)
    site: str
    attack: AttackSpec

    def axis_values(self) -> dict:
        """Every axis value, flat (the results table's provenance columns)."""
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "attack"}
        d.update(attack=self.attack.name, attack_label=self.attack.label, eps=self.attack.eps,
                 attack_hparams=dict(self.attack.hparams))
        return d

    @property
    def id(self) -> str:
        eps = "" if self.attack.eps is None else f" eps={self.attack.eps:g}"
        return (f"{self.model} c{self.compression:g} gi={self.gi} seed={self.seed} hs={self.hash_seed} {self.hash} "
                f"{'' if self.banks == DEFAULT_BANKS else 'banks=' + self.banks + ' '}{self.precision} {'' if self.reuse_factor is None else f'rf={self.reuse_factor} '}{self.attack.label}@{self.site}{eps}")


@dataclass
class Study:
    """A parsed, validated study: its settings and the cells of its (filtered) grid."""

    name: str
    n_images: int
    board: str
    attack_seed: int
    strict: bool
    train: TrainSettings
    axes: dict[str, list]
    attacks: list[AttackSpec]
    excludes: list[dict] = field(default_factory=list)
    cells: list[Cell] = field(default_factory=list)
    source: str = ""


def _list(value, key: str) -> list:
    values = value if isinstance(value, list) else [value]
    if not values:
        raise UsageError(f"{key}: empty list (the grid would be empty)")
    return values


def _int(value, key: str, lo: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise UsageError(f"{key}: expected an integer >= {lo}, got {value!r}")
    return value


def _check_keys(table: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise UsageError(f"{where}.{unknown[0]}: unknown key (expected one of {', '.join(sorted(allowed))})")


def _axis(name: str, raw: list) -> list:
    """Validate and normalise one axis' values."""
    from ..frontend.zoo import MODEL_NAMES

    key = f"axes.{name}"
    out = []
    for v in _list(raw, key):
        if name == "model":
            if v not in MODEL_NAMES:
                raise UsageError(f"{key}: unknown model {v!r} (expected one of {', '.join(MODEL_NAMES)})")
            if v == "cifar-convnet":
                raise UsageError(f"{key}: cifar-convnet needs CIFAR-10 data, which is not bundled; studies run on "
                                 "the bundled MNIST models")
        elif name == "compression":
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (math.isfinite(v) and v >= 1):
                raise UsageError(f"{key}: expected numbers >= 1 (1 = dense), got {v!r}")
            v = float(v)
        elif name == "gi":
            v = str(v).lower()
            if v != NO_GI:
                from ..frontend.gi import GIConfig

                try:
                    v = _gi_text(GIConfig.parse(v))
                except ValueError:
                    raise UsageError(f"{key}: bad GI setting {v!r} (expected none, sign:EPS or scale:EPS)") from None
        elif name in ("seed", "hash_seed"):
            v = _int(v, key)
        elif name == "reuse_factor":
            v = _int(v, key, lo=1)
        elif name == "hash":
            try:
                v = HashVersion(str(v).lower()).value
            except ValueError:
                raise UsageError(f"{key}: hash version {v!r} is not implemented by the installed hashhls "
                                 f"(available: {', '.join(h.value for h in HashVersion)})") from None
        elif name == "banks":
            v = str(v).replace(" ", "")
            if v != DEFAULT_BANKS and not re.fullmatch(r"[1-9][0-9]*(,[1-9][0-9]*)*", v):
                raise UsageError(f"{key}: banks {v!r} must be \"{DEFAULT_BANKS}\" or positive integers "
                                 "\"P1,P2,...\" (one per weight layer)")
        elif name == "site":
            try:
                v = Site(str(v).lower()).value
            except ValueError:
                raise UsageError(f"{key}: unknown crafting site {v!r} (expected one of "
                                 f"{', '.join(s.value for s in Site)})") from None
        elif name == "precision":
            v = str(v)
            if v != AUTO:
                from ..codegen.precision import parse_type

                try:
                    parse_type(v)
                except Exception as e:  # noqa: BLE001 - its one-line message, under our key
                    raise UsageError(f"{key}: {e}") from None
        if v in out:
            raise UsageError(f"{key}: value {v!r} listed twice")
        out.append(v)
    return out


def _gi_text(gi) -> str:
    return f"{gi.mode.value}:{gi.eps:g}"


def _attacks(tables: list, site_values: list[str]) -> list[AttackSpec]:
    from ..adversarial.attacks import ATTACKS
    from ..adversarial.craft import UNBUDGETED

    if not isinstance(tables, list) or not tables:
        raise UsageError("attack: a study needs at least one [[attack]] table")
    specs: list[AttackSpec] = []
    for i, t in enumerate(tables):
        where = f"attack[{i}]"
        if not isinstance(t, dict) or "name" not in t:
            raise UsageError(f"{where}.name: missing (the attack's registry name)")
        name = str(t["name"]).lower()
        if name not in ATTACKS:
            raise UsageError(f"{where}.name: unknown attack {t['name']!r} (expected one of {', '.join(ATTACKS)})")
        accepted = _accepted_hparams(ATTACKS[name])
        hp_lists = {}
        for k, v in t.items():
            if k in ("name", "eps"):
                continue
            if k not in accepted:
                raise UsageError(f"{where}.{k}: attack {name!r} takes no {k!r} (its parameters: "
                                 f"{', '.join(sorted(accepted - {'eps'}))})")
            hp_lists[k] = _list(v, f"{where}.{k}")
        if name in UNBUDGETED:
            if "eps" in t:
                raise UsageError(f"{where}.eps: {name} is budget-free (it is described by its distortion): "
                                 "remove eps")
            budgets: list[float | None] = [None]
        else:
            budgets = []
            for e in _list(t.get("eps", [0.1]), f"{where}.eps"):
                if isinstance(e, bool) or not isinstance(e, (int, float)) or not 0 < e <= 1:
                    raise UsageError(f"{where}.eps: budgets are L-inf distances in (0, 1], got {e!r}")
                budgets.append(float(e))
        keys = sorted(hp_lists)
        for combo in itertools.product(*(hp_lists[k] for k in keys)):
            for e in budgets:
                spec = AttackSpec(name, e, tuple(zip(keys, combo)))
                if spec in specs:
                    raise UsageError(f"{where}: {spec.label} eps={e} listed twice")
                specs.append(spec)
    return specs


def _accepted_hparams(cls) -> set[str]:
    import inspect

    return {p.name for c in cls.__mro__ if "__init__" in vars(c)
            for p in list(inspect.signature(c.__init__).parameters.values())[2:]
            if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}


def _matches(cell: Cell, rule: dict) -> bool:
    values = cell.axis_values()
    for k, v in rule.items():
        want = v if isinstance(v, list) else [v]
        have = values[k]
        if k == "compression":
            want = [float(w) for w in want]
        if have not in want:
            return False
    return True


def cell_banks(banks: str) -> list[int] | None:
    """The banks axis value as ModelConfig takes it (None: the model's defaults)."""
    return None if banks == DEFAULT_BANKS else [int(p) for p in banks.split(",")]


def _check_cell(cell: Cell) -> None:
    """An impossible combination no filter removed: name the keys."""
    from ..adversarial.attacks import ATTACKS
    from ..core.errors import HashhlsError
    from ..frontend.gi import GIConfig
    from ..frontend.zoo import ModelConfig

    try:
        ModelConfig(cell.model, cell.compression, cell.hash_seed,
                    None if cell.gi == NO_GI else GIConfig.parse(cell.gi), hash_version=HashVersion(cell.hash).number,
                    banks=cell_banks(cell.banks))
    except HashhlsError as e:
        raise UsageError(f"axes.compression/axes.model/axes.hash/axes.banks: {e}") from None
    if cell.site == Site.CSIM.value and not ATTACKS[cell.attack.name].black_box:
        raise UsageError(f"axes.site: csim has no gradients, but attack {cell.attack.name!r} needs them (use a "
                         "query-only attack there, or add an [[exclude]] with site = \"csim\", attack = "
                         f"\"{cell.attack.name}\")")


def parse_study(text: str, source: str = "<study>") -> Study:
    """Parse and validate a study; the grid is expanded, filtered and checked (UsageError on any mistake)."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise UsageError(f"{source}: not valid TOML: {e}") from None
    _check_keys(doc, TOP_KEYS, "study file")
    st = doc.get("study", {})
    _check_keys(st, STUDY_KEYS, "study")
    tr = doc.get("train", {})
    _check_keys(tr, TRAIN_KEYS, "train")
    train = TrainSettings(*(None if tr.get(k) is None else _int(tr[k], f"train.{k}", lo=1)
                            for k in ("epochs", "limit", "batch_size")))
    raw_axes = doc.get("axes", {})
    _check_keys(raw_axes, set(AXIS_DEFAULTS), "axes")
    axes = {k: _axis(k, raw_axes.get(k, default)) for k, default in AXIS_DEFAULTS.items()}
    attacks = _attacks(doc.get("attack", []), axes["site"])
    excludes = doc.get("exclude", [])
    allowed_filter = set(AXIS_DEFAULTS) | {"attack", "eps"}
    for i, rule in enumerate(excludes):
        if not isinstance(rule, dict) or not rule:
            raise UsageError(f"exclude[{i}]: expected a non-empty table of axis = value(s)")
        _check_keys(rule, allowed_filter, f"exclude[{i}]")
    cells = []
    for combo in itertools.product(*(axes[k] for k in AXIS_DEFAULTS), attacks):
        cell = Cell(*combo)
        if not any(_matches(cell, rule) for rule in excludes):
            if cell.hash == HashVersion.V2.value:  # the axis value (only ever its default) is not what it builds
                cell = replace(cell, reuse_factor=None)
            cells.append(cell)
    if not cells:
        raise UsageError("exclude: the filters remove every cell (the grid is empty)")
    for cell in cells:
        _check_cell(cell)
    if "reuse_factor" in raw_axes and any(c.hash == HashVersion.V2.value for c in cells):
        raise UsageError("axes.reuse_factor: hash v2 layers take their reuse factor from their banks (fixed at "
                         "training); drop reuse_factor or [[exclude]] hash = \"v2\" from the cells that set it")
    n = _int(st.get("n_images", 100), "study.n_images", lo=1)
    if n > 10_000:
        raise UsageError(f"study.n_images: the bundled MNIST test set has 10,000 images, got {n}")
    board = str(st.get("board", "pynq-z2"))
    _check_board(board)
    return Study(name=str(st.get("name", Path(source).stem)), n_images=n, board=board,
                 attack_seed=_int(st.get("attack_seed", 0), "study.attack_seed"), strict=_bool(st, "strict"),
                 train=train, axes=axes,
                 attacks=attacks, excludes=list(excludes), cells=cells, source=source)


def _bool(table: dict, key: str) -> bool:
    v = table.get(key, False)
    if not isinstance(v, bool):
        raise UsageError(f"study.{key}: expected true or false, got {v!r}")
    return v


def _check_board(board: str) -> None:
    from ..codegen.boards import NO_BOARD, load_board

    if board == NO_BOARD:
        return
    try:
        load_board(board)
    except Exception as e:  # noqa: BLE001 - the registry's one-line message, under our key
        raise UsageError(f"study.board: {e}") from None


def load_study(path: str | Path) -> Study:
    """Read and validate a study file."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"study file not found: {path}")
    return parse_study(path.read_text(), source=str(path))
