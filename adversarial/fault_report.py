"""The fault study behind ``hashhls faults``: flip bits in one or more builds' weight stores, measure accuracy
after every flip on the emulator and on csim (flipped words in a copy of the build), compare the builds.

Writes ``report.md``, ``report.json`` (the same numbers) and ``accuracy_vs_flips.png``.

    >>> study = run_faults(["build-c8/", "build-dense/"], attack="bfa", flips=20)  # doctest: +SKIP
    >>> study.write("report/")                                                      # doctest: +SKIP
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..core.atomic import atomic_dir
from ..core.errors import UnsupportedModelError
from .faults import DEFAULT_GROUP, BitFlip, WeightStore, check_flip_count, detect, flip_codes, make_fault_attack

DEFAULT_TARGET = 0.11  #: "accuracy dropped to chance": at or below this on the evaluation images
DEFAULT_BATCH = 128  #: attack batch (bundled MNIST training images, disjoint from the evaluation images)
PLOT_NAME = "accuracy_vs_flips.png"


@dataclass
class BuildFaults:
    """One build's fault run."""

    label: str
    build: str
    stored_words: int
    stored_bits: int
    virtual_weights: int
    flips: list[dict]  #: chosen flips in order, each with its layer's fan-out and the word's value change
    accuracy_emulator: list[float]  #: after 0, 1, ..., F flips
    accuracy_csim: list[float] | None  #: the same on csim (None with csim=False)
    csim_bit_exact: bool | None  #: csim logits == emulator logits after every flip count
    detection: dict  #: the per-group checksum of the final flips (faults.Detection)
    seconds: float
    gradient_calls: int
    loss_evals: int

    @property
    def compression(self) -> float:
        return self.virtual_weights / self.stored_words

    def flips_to(self, target: float) -> int | None:
        """Fewest flips after which the emulator's accuracy is at or below ``target`` (None: never)."""
        return next((k for k, a in enumerate(self.accuracy_emulator) if a <= target), None)


@dataclass
class FaultStudy:
    attack: str
    flips: int
    n_eval: int
    batch: int
    seed: int
    target: float
    group: int
    builds: list[BuildFaults] = field(default_factory=list)

    def table(self) -> str:
        lines = [f"| build | virtual / stored | stored bits | clean acc | flips to <= {100 * self.target:.0f}% "
                 f"| acc after {self.flips} flips (emulator / csim) | csim == emulator | checksum detected "
                 "(groups) | time (s) | gradient calls |",
                 "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|"]
        for b in self.builds:
            k = b.flips_to(self.target)
            csim = "-" if b.accuracy_csim is None else _pct(b.accuracy_csim[-1])
            exact = "-" if b.csim_bit_exact is None else ("yes" if b.csim_bit_exact else "**NO**")
            d = b.detection
            det = f"{d['detected_groups']}/{d['flipped_groups']}"
            lines.append(f"| {b.label} | {b.compression:.0f} | {b.stored_bits:,} | {_pct(b.accuracy_emulator[0])} "
                         f"| {'>' + str(self.flips) if k is None else k} | {_pct(b.accuracy_emulator[-1])} / {csim} "
                         f"| {exact} | {det} | {b.seconds:.1f} | {b.gradient_calls} |")
        return "\n".join(lines)

    def markdown(self) -> str:
        lines = [f"# Bit flips in the weight store: {self.attack}, {self.flips} flips", "",
                 f"Accuracy on the first {self.n_eval} official MNIST test images after each flip; "
                 + (f"the attack batch is the first {self.batch} bundled MNIST training images, " if self.attack == "bfa"
                    else f"flips drawn uniformly from all stored bits (seed {self.seed}), ")
                 + "the flipped words written into a copy of each build's weight files for csim (no rebuild). "
                 f"Checksum: one additive checksum word per group of {self.group} stored words, compared after "
                 "the last flip.", "", self.table(), "", f"![accuracy vs flips]({PLOT_NAME})", ""]
        lines += ["## Accuracy after k flips (emulator / csim)", "",
                  "| flips | " + " | ".join(b.label for b in self.builds) + " |",
                  "|---:|" + "---:|" * len(self.builds)]
        for k in range(self.flips + 1):
            cells = []
            for b in self.builds:
                if k >= len(b.accuracy_emulator):
                    cells.append("")
                    continue
                c = "" if b.accuracy_csim is None else f" / {_pct(b.accuracy_csim[k])}"
                cells.append(_pct(b.accuracy_emulator[k]) + c)
            lines.append(f"| {k} | " + " | ".join(cells) + " |")
        for b in self.builds:
            lines += ["", f"## Flips chosen: {b.label}", "",
                      "| # | layer | word | bit | virtual weights fed | value before -> after | accuracy after |",
                      "|---:|---|---:|---:|---:|---|---:|"]
            for i, f in enumerate(b.flips, 1):
                lines.append(f"| {i} | `{f['layer']}` | {f['word']} | {f['bit']} | {f['fan_out']:g} "
                             f"| {f['before']:g} -> {f['after']:g} | {_pct(b.accuracy_emulator[i])} |")
        return "\n".join(lines) + "\n"

    def to_json(self) -> str:
        d = asdict(self)
        for b, row in zip(self.builds, d["builds"]):
            row["flips_to_target"] = b.flips_to(self.target)
        return json.dumps(d, indent=2, allow_nan=False) + "\n"

    def write(self, out: str | Path, force: bool = False) -> Path:
        with atomic_dir(out, force=force) as tmp:
            plot_accuracy(self, tmp / PLOT_NAME)
            (tmp / "report.json").write_text(self.to_json())
            (tmp / "report.md").write_text(self.markdown())
        return Path(out)


def _pct(v: float) -> str:
    return f"{100 * v:.1f}%"


def _label(store: WeightStore, build: Path) -> str:
    virt = sum(sl.index.size for sl in store.layers)
    ratio = virt / store.n_words
    return f"{build.name} ({'dense' if ratio == 1 else f'1/{ratio:.0f}'})"


def _mnist_shape(store: WeightStore, build: Path) -> None:
    if tuple(store.base.input_shape) != (1, 28, 28):
        raise UnsupportedModelError(f"faults evaluates on MNIST; build {build} takes inputs of shape "
                                    f"{tuple(store.base.input_shape)}")


def run_faults(builds: list[str | Path], attack: str = "bfa", flips: int = 20, n: int = 1000,
               batch: int = DEFAULT_BATCH, seed: int = 0, top_k: int = 1, csim: bool = True,
               group: int = DEFAULT_GROUP, target: float = DEFAULT_TARGET, progress: bool = True) -> FaultStudy:
    """Run one fault attack on each build (see the module docstring). Validates everything before any work."""
    from tqdm import tqdm

    from ..frontend.datasets import load_mnist

    kwargs = {"top_k": top_k} if attack == "bfa" else {"seed": seed}
    make_fault_attack(attack, **kwargs)  # unknown name / bad top_k: before anything is loaded
    check_flip_count(flips)
    stores = [(Path(b), WeightStore.from_build(b)) for b in builds]
    for b, store in stores:
        check_flip_count(flips, store)
        _mnist_shape(store, b)
    x, y = load_mnist(split="test", limit=n)
    xa, ya = load_mnist(split="train", limit=batch)
    study = FaultStudy(attack, flips, len(x), batch, seed, target, group)
    for b, store in stores:
        fa = make_fault_attack(attack, **kwargs)
        accs = [float((store.emulator().predict(x).argmax(1) == y).mean())]
        bar = tqdm(total=flips, desc=f"{attack} {b.name}", unit="flip", disable=None if progress else True,
                   leave=False)

        def after(chosen: list[BitFlip]) -> None:
            accs.append(float((store.emulator(chosen).predict(x).argmax(1) == y).mean()))
            bar.update(1)
            bar.set_postfix(acc=f"{100 * accs[-1]:.1f}%")

        t0 = time.perf_counter()
        chosen = fa.run(store, xa, ya, flips, callback=after)
        seconds = time.perf_counter() - t0
        bar.close()
        acc_csim, exact = _csim_accuracy(store, chosen, x, y) if csim else (None, None)
        study.builds.append(BuildFaults(
            _label(store, b), str(b), store.n_words, store.n_bits, sum(sl.index.size for sl in store.layers),
            _describe(store, chosen), accs, acc_csim, exact, asdict(detect(store, chosen, group)), seconds,
            fa.gradient_calls, fa.loss_evals))
    return study


def _describe(store: WeightStore, flips: list[BitFlip]) -> list[dict]:
    """Each flip with its layer's fan-out and the word's value before and after it (flips applied in order)."""
    out, codes = [], store.codes()
    for f in flips:
        sl = store.by_name[f.layer]
        before = int(codes[f.layer][f.word])
        codes[f.layer][f.word] = flip_codes(before, f.bit, sl.wtype)
        out.append({**f.as_dict(), "fan_out": sl.fan_out, "before": before * sl.wtype.lsb,
                    "after": float(codes[f.layer][f.word]) * sl.wtype.lsb})
    return out


def _csim_accuracy(store: WeightStore, flips: list[BitFlip], x: np.ndarray, y: np.ndarray
                   ) -> tuple[list[float], bool]:
    """csim accuracy after 0..F flips, the flipped words written into a temporary copy of the build."""
    from ..codegen.csim import load_build

    accs, exact = [], True
    with tempfile.TemporaryDirectory(prefix="hashhls-faults-") as tmp:
        copy = store.copy_build(Path(tmp) / "build")
        model = load_build(copy, allow_modified_weights=True)  # the copy's weight files are flipped on purpose
        for k in range(len(flips) + 1):
            store.write(copy, flips[:k])
            codes = model.predict_codes(x)
            exact &= bool(np.array_equal(codes, store.emulator(flips[:k]).predict_codes(x)))
            accs.append(float((codes.argmax(1) == y).mean()))
    return accs, exact


def plot_accuracy(study: FaultStudy, path: Path) -> None:
    from .report import _plt

    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for k, b in enumerate(study.builds):
        xs = np.arange(len(b.accuracy_emulator))
        line, = ax.plot(xs, 100 * np.asarray(b.accuracy_emulator), marker="o", markersize=3.5, linewidth=1.4,
                        label=f"{b.label}: emulator")
        if b.accuracy_csim is not None:
            ax.plot(xs, 100 * np.asarray(b.accuracy_csim), linestyle="none", marker="x", markersize=6,
                    color=line.get_color(), label=f"{b.label}: csim")
    ax.axhline(100 * study.target, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel(f"bits flipped in the weight store ({study.attack})")
    ax.set_ylabel("MNIST test accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_xlim(-0.3, study.flips + 0.3)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # flips are counted: no 2.5-flip ticks
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0, frameon=False)
    ax.set_title(f"accuracy vs bit flips ({study.n_eval} test images)")
    fig.tight_layout()
    fig.savefig(path, dpi=150, bbox_inches="tight")
    plt.close(fig)
