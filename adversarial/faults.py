"""Bit flips in a build's weight store: the fault model, random flips and the progressive bit search attack.

The hardware holds each weighted layer's stored words in on-chip memory: K fixed-point words for a hashed layer
(one word feeds ``N*M/K`` virtual weights, so one flipped bit changes many connections at once), ``N*M`` for a
dense one. :class:`WeightStore` reads those words from a build exactly as the C simulation loads them
(``hls/firmware/weights/<file>.txt``, one word per comma-separated value) and knows, for every virtual weight the
emulator multiplies, which word it reads and with which sign (the hash tables for hashed layers, the identity for
dense ones; checked against ``model.onnx`` at load). A fault is a :class:`BitFlip` (layer, word, bit) applied to
a word's two's-complement code; the faulty hardware is evaluated

* by the emulator with the flipped codes (:meth:`WeightStore.emulator`), and
* by csim with the flipped words written into a COPY of the build's weight files (:meth:`WeightStore.write`):
  the compiled simulation reads its weights at run time, so nothing is rebuilt.

Both are bit-exact with each other (``hw_tests/test_faults_csim.py``).

Attacks (one interface: ``attack.run(store, x, y, flips) -> list[BitFlip]``):

* :class:`RandomFlips`: bits drawn uniformly, without repetition, from all stored bits.
* :class:`BitFlipAttack`: the progressive bit search of Rakin, He and Fan, "Bit-Flip Attack: Crushing Neural
  Network with Progressive Bit Search", ICCV 2019. Each iteration ranks, in every layer, the stored bits by the
  first-order loss change ``dL/dcode * (code' - code)`` (the loss gradient w.r.t. the word through the
  fixed-point twin's straight-through backward, times the bit's value change), flips the best ``top_k`` of
  each layer in turn and measures the exact loss on the attack batch (emulator), and keeps the one flip with
  the largest loss (inter-layer search).

Detection baseline: :func:`group_checksums`, an additive checksum of every group of G stored words (a
RADAR-style group signature, Li et al., DAC 2020), computed on the golden words and compared after the faults.

    >>> store = WeightStore.from_build("build/")                        # doctest: +SKIP
    >>> flips = BitFlipAttack().run(store, x[:128], y[:128], flips=10)  # doctest: +SKIP
    >>> acc = (store.emulator(flips).predict(x).argmax(1) == y).mean()   # doctest: +SKIP
"""

from __future__ import annotations

import copy
import dataclasses
import re
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx

from ..codegen.emulator import Emulator
from ..codegen.fixed import FixedType
from ..codegen.manifest import BuildManifest, verify_files
from ..codegen.names import cpp_identifier
from ..codegen.ops.base import EmuLayer
from ..codegen.ops.registry import op_for_kind
from ..core.errors import HashhlsError, InvalidFileError, UnsupportedModelError, UsageError

_EXACT_F64 = 2.0**53
DEFAULT_GROUP = 16  #: words per checksum group


@dataclass(frozen=True, order=True)
class BitFlip:
    """One flipped bit of one stored word: ``bit`` 0 is the LSB, ``width - 1`` the sign bit."""

    layer: str
    word: int
    bit: int

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def flip_codes(codes: np.ndarray, bits: np.ndarray | int, t: FixedType) -> np.ndarray:
    """Two's-complement codes of type ``t`` with bit ``bits`` flipped (elementwise)."""
    mask = (1 << t.width) - 1
    u = (np.asarray(codes, dtype=np.int64) & mask) ^ (np.int64(1) << np.asarray(bits, dtype=np.int64))
    if t.signed:
        u = np.where(u >= 1 << (t.width - 1), u - (1 << t.width), u)
    return u


@dataclass
class StoredLayer:
    """The stored words of one weighted layer and how the emulator's virtual weights read them."""

    name: str
    kind: str
    file: str  #: weights file name in ``hls/firmware/weights/`` ("" for an in-memory store)
    wtype: FixedType
    codes: np.ndarray  #: int64 [K]: the golden stored words, in file (= memory) order
    index: np.ndarray  #: int64 [n_out * fan_in]: virtual weight j (emulator order) reads word index[j]
    sign: np.ndarray  #: int64 [n_out * fan_in]: ... times sign[j]
    position: int  #: index of the layer in ``Emulator.layers``

    @property
    def n_words(self) -> int:
        return int(self.codes.size)

    @property
    def n_bits(self) -> int:
        return self.n_words * self.wtype.width

    @property
    def fan_out(self) -> float:
        """Virtual weights per stored word (N*M/K; 1 for a dense layer)."""
        return self.index.size / self.n_words

    def virtual(self, codes: np.ndarray) -> np.ndarray:
        return codes[self.index] * self.sign


_LOAD = r"load_weights_from_txt<\s*{name}_weight_t\s*,\s*(\d+)\s*>\s*\(\s*\w+\s*,\s*\"(\w+\.txt)\"\s*\)"


def _weight_files(firmware: Path, manifest: BuildManifest, names: Sequence[str]) -> dict[str, tuple[str, int]]:
    """Layer name -> (weights file, word count), from the top function's weight-loading calls."""
    top = firmware / f"{manifest.project_name}.cpp"
    if not top.is_file():
        raise InvalidFileError(f"build has no C++ top function source {top}")
    text = top.read_text(errors="replace")
    out = {}
    for name in names:
        # hls4ml's types are named after the prefixed C++ identifier (codegen.names); builds before the prefix
        # scheme used the bare layer name
        m = (re.search(_LOAD.format(name=re.escape(cpp_identifier(name))), text)
             or re.search(_LOAD.format(name=re.escape(name)), text))
        if m is None:
            raise InvalidFileError(f"{top} loads no weights file for layer {name!r}")
        out[name] = (m[2], int(m[1]))
    return out


def read_words(path: Path, t: FixedType) -> np.ndarray:
    """The codes of a weights file (one line of comma-separated decimals, as hls4ml's loader reads it)."""
    try:
        values = np.array([float(v) for v in path.read_text().split(",") if v.strip()], dtype=np.float64)
    except (OSError, ValueError) as e:
        raise InvalidFileError(f"cannot read weights file {path}: {e}") from e
    codes = values * 2.0**t.frac
    if not np.array_equal(codes, np.rint(codes)) or codes.min(initial=0) < t.code_min or codes.max(initial=0) > t.code_max:
        raise InvalidFileError(f"weights file {path} holds values that are not codes of {t}")
    return codes.astype(np.int64)


def format_words(codes: np.ndarray, t: FixedType) -> str:
    """A weights file's text for these codes: exact decimals (the loader parses a double, then converts)."""
    return ", ".join(repr(float(c) * 2.0**-t.frac) for c in np.asarray(codes, dtype=np.int64)) + "\n"


def _layouts(layer: EmuLayer, n: int, feature_map=None) -> list[np.ndarray]:
    """Candidate orders of a dense/conv layer's words (emulator flat order -> file index), tried in turn.

    ``feature_map``: the window of the last spatial layer before a dense one; the build folds the channels-last
    flatten into that dense layer's columns, stored (n_out, H, W, C).
    """
    ident = np.arange(n, dtype=np.int64)
    cands = [ident]
    rows, fan_in = layer.weight.shape
    cands.append(ident.reshape(fan_in, rows).T.ravel())  # (n_in, n_out), hls4ml's Dense layout
    fm = feature_map
    if layer.window is None and fm is not None and fm.out_c * fm.out_h * fm.out_w == fan_in:
        cands.append(ident.reshape(rows, fm.out_h, fm.out_w, fm.out_c).transpose(0, 3, 1, 2).ravel())
    if layer.window is not None:  # emulator (out, in, kh, kw); the file (out, kh, kw, in), or (kh, kw, in, out)
        w = layer.window
        cands.append(ident.reshape(w.out_c, w.kh, w.kw, w.in_c).transpose(0, 3, 1, 2).ravel())
        cands.append(ident.reshape(w.kh, w.kw, w.in_c, w.out_c).transpose(3, 2, 0, 1).ravel())
    return cands


class WeightStore:
    """The stored words of a build (see the module docstring)."""

    def __init__(self, build_dir: Path | None, emulator: Emulator, layers: list[StoredLayer]):
        self.build_dir = build_dir
        self.base = emulator
        self.layers = layers
        self.by_name = {sl.name: sl for sl in layers}

    @classmethod
    def from_model(cls, manifest: BuildManifest, model: onnx.ModelProto) -> WeightStore:
        """The store of an in-memory plan (:func:`hashhls.codegen.project.plan_in_memory`): words from the model,
        dense layers in the emulator's order, no weight files (:meth:`write` needs :meth:`from_build`)."""
        from ..codegen.graph import layer_specs

        emu = Emulator.from_model(manifest, model)
        specs = {sp.name: sp for sp in layer_specs(model)}
        infos = {info.name: info for info in manifest.layers}
        layers = []
        for pos, layer in enumerate(emu.layers):
            if not op_for_kind(layer.kind).weighted:
                continue
            t = FixedType.parse(infos[layer.name].precision["weight"])
            spec = specs[layer.name]
            if spec.hash is not None:
                bucket, sign = spec.hash.tables()
                index, sign = np.asarray(bucket, np.int64).ravel(), np.asarray(sign, np.int64).ravel()
                codes = t.to_codes(np.asarray(spec.weight, dtype=np.float32).astype(np.float64)).astype(np.int64)
            else:
                codes = layer.weight.ravel().copy()
                index, sign = np.arange(codes.size, dtype=np.int64), np.ones(codes.size, dtype=np.int64)
            if not np.array_equal(codes[index] * sign, layer.weight.ravel()):
                raise HashhlsError(f"layer {layer.name!r}: stored words do not give the emulator's weights")
            layers.append(StoredLayer(layer.name, layer.kind, "", t, codes, index, sign, pos))
        if not layers:
            raise UnsupportedModelError("the model has no weighted layer")
        return cls(None, emu, layers)

    @classmethod
    def from_build(cls, build_dir: str | Path) -> WeightStore:
        """The store of a build: its words read from the weight files the C simulation loads, checked against
        ``model.onnx`` (each file's word order found among the known layouts)."""
        build_dir = Path(build_dir)
        manifest = BuildManifest.read(build_dir)
        verify_files(build_dir, manifest)  # the golden words: the build's own files, as it recorded them
        path = build_dir / "model.onnx"
        if not path.is_file():
            raise InvalidFileError(f"build directory has no model.onnx: {build_dir}")
        store = cls.from_model(manifest, onnx.load(str(path)))
        store.build_dir = build_dir
        firmware = build_dir / manifest.hls_dir / "firmware"
        files = _weight_files(firmware, manifest, [sl.name for sl in store.layers])
        for sl in store.layers:
            fname, count = files[sl.name]
            codes = read_words(firmware / "weights" / fname, sl.wtype)
            if codes.size != count:
                raise InvalidFileError(f"weights file {fname} holds {codes.size} words, the C++ loads {count}")
            flat = sl.virtual(sl.codes)
            if store.base.layers[sl.position].spec.hash is not None:
                order = sl.index if np.array_equal(codes, sl.codes) else None
            else:
                layer = store.base.layers[sl.position]
                fm = next((prev.spec.window for prev in reversed(store.base.layers[:sl.position])
                           if prev.spec.window is not None), None)
                order = next((c for c in _layouts(layer, codes.size, fm)
                              if codes.size == flat.size and np.array_equal(codes[c], flat)), None)
            if order is None:
                raise InvalidFileError(f"weights file {fname} does not hold layer {sl.name!r}'s weights as "
                                       "model.onnx has them")
            sl.file, sl.codes, sl.index = fname, codes, order
        return store

    # -- faults ---------------------------------------------------------------------------------------------

    @property
    def n_words(self) -> int:
        return sum(sl.n_words for sl in self.layers)

    @property
    def n_bits(self) -> int:
        return sum(sl.n_bits for sl in self.layers)

    def check(self, flips: Sequence[BitFlip]) -> None:
        for f in flips:
            sl = self.by_name.get(f.layer)
            if sl is None:
                raise UsageError(f"no weighted layer {f.layer!r} in the build")
            if not (0 <= f.word < sl.n_words and 0 <= f.bit < sl.wtype.width):
                raise UsageError(f"flip {f} outside layer {f.layer!r}'s {sl.n_words} x {sl.wtype.width} bits")

    def codes(self, flips: Sequence[BitFlip] = ()) -> dict[str, np.ndarray]:
        """Each layer's stored codes after the flips (a flip listed twice cancels)."""
        self.check(flips)
        out = {sl.name: sl.codes.copy() for sl in self.layers}
        for f in flips:
            t = self.by_name[f.layer].wtype
            out[f.layer][f.word] = flip_codes(out[f.layer][f.word], f.bit, t)
        return out

    def emulator(self, flips: Sequence[BitFlip] = (), codes: dict[str, np.ndarray] | None = None) -> Emulator:
        """The bit-exact emulator of the faulty hardware (the golden one without flips)."""
        codes = self.codes(flips) if codes is None else codes
        layers = list(self.base.layers)
        for sl in self.layers:
            if np.array_equal(codes[sl.name], sl.codes):
                continue
            layers[sl.position] = with_weight(layers[sl.position], sl.virtual(codes[sl.name]))
        return Emulator(self.base.manifest, self.base.input_type, layers, self.base.input_name)

    def copy_build(self, dest: str | Path) -> Path:
        """A copy of the build (with its compiled csim, which reads the weights at run time) to fault."""
        if self.build_dir is None:
            raise UsageError("an in-memory weight store has no build to copy")
        dest = Path(dest)
        shutil.copytree(self.build_dir, dest, symlinks=True)
        return dest

    def write(self, build_copy: str | Path, flips: Sequence[BitFlip]) -> None:
        """Write the faulty words into the weight files of a build COPY (every layer, golden or not)."""
        build_copy = Path(build_copy)
        if self.build_dir is None:
            raise UsageError("an in-memory weight store has no weight files to write (use WeightStore.from_build)")
        if build_copy.resolve() == self.build_dir.resolve():
            raise UsageError("refusing to fault the original build's weight files; write into a copy")
        weights = build_copy / self.base.manifest.hls_dir / "firmware" / "weights"
        for name, c in self.codes(flips).items():
            (weights / self.by_name[name].file).write_text(format_words(c, self.by_name[name].wtype))


def with_weight(layer: EmuLayer, virtual: np.ndarray) -> EmuLayer:
    """``layer`` with other virtual weight codes (re-checking that the float64 matmul stays exact)."""
    w = np.asarray(virtual, dtype=np.int64).reshape(layer.weight.shape)
    bound = int(np.abs(w).sum(axis=1).max(initial=0)) * max(abs(layer.in_type.code_min), abs(layer.in_type.code_max))
    if bound >= 2**62:
        raise HashhlsError(f"layer {layer.name!r}: partial sums may exceed 64 bits after the flips")
    new = copy.copy(layer)
    new.weight, new.exact_f64 = w, bound < _EXACT_F64
    new._weight_t_f64 = np.ascontiguousarray(w.T, dtype=np.float64)
    return new


# -- loss and gradients w.r.t. the stored words ----------------------------------------------------------------

def _cross_entropy(logits: np.ndarray, y: np.ndarray) -> float:
    z = logits - logits.max(axis=1, keepdims=True)
    return float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(y)), y]))


def exact_loss(emu: Emulator, x: np.ndarray, y: np.ndarray) -> float:
    """Mean cross-entropy of the exact fixed-point logits."""
    return _cross_entropy(emu.predict(x), y)


def word_gradients(store: WeightStore, codes: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray
                   ) -> dict[str, np.ndarray]:
    """d(mean cross-entropy)/d(code) of every stored word, through the twin's straight-through backward.

    The forward values are the emulator's exact codes (the faulty hardware's); each layer's backward is its
    float op (its op table entry's ``torch_module``, :func:`hashhls.adversarial.twin.float_module`), with the
    weighted layers' weights written as a function of the stored words so that autograd sums over the ``N*M/K``
    virtual weights a word feeds.
    """
    import torch
    import torch.nn.functional as F

    from .twin import _straight_through, float_module

    emu = store.emulator(codes=codes)
    infos = {info.name: info for info in emu.manifest.layers}
    x = emu.check_input(x).astype(np.float64)
    c = emu.input_type.to_codes(x)
    h = {emu.input_name: torch.from_numpy(c * emu.input_type.lsb)}
    words = {}
    by_pos = {sl.position: sl for sl in store.layers}
    for pos, (layer, _xs, new) in enumerate(emu.trace_codes(c)):
        xs = [h[t] for t in layer.inputs]
        sl = by_pos.get(pos)
        if sl is None:
            f = float_module(layer, infos[layer.name])(*xs)
        else:
            wv = torch.tensor(codes[sl.name], dtype=torch.float64, requires_grad=True)
            words[sl.name] = wv
            w = (wv[torch.from_numpy(sl.index)] * torch.from_numpy(sl.sign)).view(layer.weight.shape)
            f = _weighted_op(layer, xs[0], w * 2.0**-layer.weight_frac).reshape(len(c), *layer.spec.out_shape)
        h[layer.output] = _straight_through(f, new, layer.out_type)
    out = h[emu.layers[-1].output].reshape(len(c), -1)
    loss = F.cross_entropy(out, torch.from_numpy(np.asarray(y, dtype=np.int64)))
    loss.backward()
    return {name: wv.grad.numpy().copy() for name, wv in words.items()}


def _weighted_op(layer: EmuLayer, x, w):
    import torch.nn.functional as F

    import torch

    b = torch.from_numpy(layer.bias.astype(np.float64) * 2.0**-layer.accum.frac)
    if layer.window is None:
        return x.reshape(len(x), -1) @ w.T + b
    win = layer.window
    x = F.pad(x.view(-1, *win.in_shape), (win.pad_l, win.pad_r, win.pad_t, win.pad_b))
    y = F.conv2d(x, w.view(win.out_c, win.in_c, win.kh, win.kw), b, (win.sh, win.sw))
    return y.reshape(len(y), -1)


# -- attacks ----------------------------------------------------------------------------------------------------

@dataclass
class FaultStep:
    """One chosen flip and the attack batch's exact loss after it."""

    flip: BitFlip
    loss: float


class BitFlipAttack:
    """Progressive bit search (BFA; Rakin, He, Fan, ICCV 2019) over a build's stored words.

    Args:
        top_k: candidate bits per layer whose exact loss is measured each iteration (1 in the paper).

    Per iteration: one backward pass for ``dL/dcode``, then per layer the ``top_k`` bits with the largest
    first-order gain ``dL/dcode * (code' - code)`` are flipped one at a time and the attack batch's exact
    (emulator) loss measured; the single best flip over all layers is kept. Bits already flipped are not
    candidates again.

        >>> attack = BitFlipAttack()                                       # doctest: +SKIP
        >>> flips = attack.run(WeightStore.from_build("build/"), x, y, 10)  # doctest: +SKIP
    """

    name = "bfa"

    def __init__(self, top_k: int = 1) -> None:
        if top_k < 1:
            raise UsageError(f"top_k must be >= 1, got {top_k}")
        self.top_k = top_k
        self.gradient_calls = 0
        self.loss_evals = 0
        self.steps: list[FaultStep] = []

    def run(self, store: WeightStore, x: np.ndarray, y: np.ndarray, flips: int,
            callback: Callable[[list[BitFlip]], None] | None = None) -> list[BitFlip]:
        check_flip_count(flips, store)
        chosen: list[BitFlip] = []
        codes = store.codes()
        for _ in range(flips):
            grads = word_gradients(store, codes, x, y)
            self.gradient_calls += 1
            best: tuple[float, BitFlip] | None = None
            for sl in store.layers:
                for flip in self._candidates(sl, codes[sl.name], grads[sl.name], set(chosen)):
                    trial = dict(codes)
                    trial[sl.name] = codes[sl.name].copy()
                    trial[sl.name][flip.word] = flip_codes(trial[sl.name][flip.word], flip.bit, sl.wtype)
                    loss = exact_loss(store.emulator(codes=trial), x, y)
                    self.loss_evals += 1
                    if best is None or loss > best[0]:
                        best = (loss, flip)
            if best is None:
                break
            loss, flip = best
            sl = store.by_name[flip.layer]
            codes[flip.layer] = codes[flip.layer].copy()
            codes[flip.layer][flip.word] = flip_codes(codes[flip.layer][flip.word], flip.bit, sl.wtype)
            chosen.append(flip)
            self.steps.append(FaultStep(flip, loss))
            if callback is not None:
                callback(chosen)
        return chosen

    def _candidates(self, sl: StoredLayer, codes: np.ndarray, grad: np.ndarray, taken: set[BitFlip]
                    ) -> list[BitFlip]:
        bits = np.arange(sl.wtype.width)
        delta = flip_codes(codes[:, None], bits[None, :], sl.wtype) - codes[:, None]  # [K, width]
        gain = (grad[:, None] * delta).ravel()
        out = []
        for j in np.argsort(-gain, kind="stable"):
            flip = BitFlip(sl.name, int(j // sl.wtype.width), int(j % sl.wtype.width))
            if flip not in taken:
                out.append(flip)
            if len(out) == self.top_k:
                break
        return out


class RandomFlips:
    """Bits drawn uniformly without repetition from all stored bits of the build (the random-fault baseline).

        >>> flips = RandomFlips(seed=0).run(store, x, y, 20)  # doctest: +SKIP
    """

    name = "random"

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.gradient_calls = 0
        self.loss_evals = 0

    def run(self, store: WeightStore, x: np.ndarray | None, y: np.ndarray | None, flips: int,
            callback: Callable[[list[BitFlip]], None] | None = None) -> list[BitFlip]:
        check_flip_count(flips, store)
        rng = np.random.default_rng(self.seed)
        starts = np.cumsum([0] + [sl.n_bits for sl in store.layers])
        picks = rng.choice(store.n_bits, size=flips, replace=False)
        chosen = []
        for p in picks:
            k = int(np.searchsorted(starts, p, side="right") - 1)
            sl, off = store.layers[k], int(p - starts[k])
            chosen.append(BitFlip(sl.name, off // sl.wtype.width, off % sl.wtype.width))
            if callback is not None:
                callback(list(chosen))
        return chosen


FAULT_ATTACKS = {a.name: a for a in (BitFlipAttack, RandomFlips)}


def make_fault_attack(name: str, **kwargs):
    """The fault attack called ``name`` (``bfa`` or ``random``); UsageError for another name."""
    try:
        cls = FAULT_ATTACKS[name]
    except KeyError:
        raise UsageError(f"unknown fault attack {name!r}; choose from {', '.join(FAULT_ATTACKS)}") from None
    return cls(**kwargs)


def check_flip_count(flips: int, store: WeightStore | None = None) -> None:
    if int(flips) != flips or flips < 1:
        raise UsageError(f"the number of flips must be at least 1, got {flips}")
    if store is not None and flips > store.n_bits:
        raise UsageError(f"{flips} flips asked but the build stores only {store.n_bits} bits")


# -- detection --------------------------------------------------------------------------------------------------

def group_checksums(codes: np.ndarray, t: FixedType, group: int = DEFAULT_GROUP) -> np.ndarray:
    """Additive checksum (sum of the unsigned words mod 2**width) of each group of ``group`` consecutive words.

    One flipped bit changes its group's sum by ``2**bit`` mod ``2**width``, never 0: every single flip per
    group is caught; two flips in one group can cancel (then the fault goes undetected).
    """
    if group < 1:
        raise UsageError(f"checksum group size must be >= 1, got {group}")
    u = np.asarray(codes, dtype=np.int64) & ((1 << t.width) - 1)
    pad = (-len(u)) % group
    u = np.concatenate([u, np.zeros(pad, dtype=np.int64)]).reshape(-1, group)
    return u.sum(axis=1) & ((1 << t.width) - 1)


@dataclass
class Detection:
    """How a per-group checksum sees a set of flips."""

    group: int
    groups: int  #: checksum groups over all layers
    flipped_groups: int  #: groups holding at least one flipped bit
    detected_groups: int  #: ... whose checksum differs from the golden one
    overhead_bits: int  #: checksum storage (one word per group)

    @property
    def rate(self) -> float | None:
        return None if self.flipped_groups == 0 else self.detected_groups / self.flipped_groups


def detect(store: WeightStore, flips: Sequence[BitFlip], group: int = DEFAULT_GROUP) -> Detection:
    """Compare every group's checksum after the flips with the golden one."""
    faulty = store.codes(flips)
    groups = flipped = detected = overhead = 0
    for sl in store.layers:
        gold = group_checksums(sl.codes, sl.wtype, group)
        now = group_checksums(faulty[sl.name], sl.wtype, group)
        hit = np.zeros(len(gold), dtype=bool)
        hit[[f.word // group for f in flips if f.layer == sl.name]] = True
        groups += len(gold)
        flipped += int(hit.sum())
        detected += int((hit & (gold != now)).sum())
        overhead += len(gold) * sl.wtype.width
    return Detection(group, groups, flipped, detected, overhead)
