"""Replay reports: ``report.md``, ``report.json`` (strict JSON) and the plots.

One writer for ``hashhls replay`` / :func:`hashhls.replay` and ``hashhls transfer``. Every (file, attack, budget)
is its own row in every table and in the JSON, whatever the files' ``crafted_on`` says. The first lines of
``report.md`` answer the question the tool exists for: crafted where, evaluated where, and how often the examples
fooled the C simulation.

Plots (each written only when it has something to show):

* ``success_vs_eps.png``: success against the L-inf budget, for files with two or more budgets; one line per
  (file, implementation), colour per implementation, marker and line style per file, legend outside the axes;
  implementations with identical success share one line, labelled ``csim = emulator = ...``;
* ``success_vs_l2.png``: budget-free attacks (CW-L2, DeepFool, JSMA): success against mean L2 distortion;
* ``examples.png``: clean / adversarial / perturbation, csim successes and float-vs-csim disagreements first,
  the perturbations on one shared colour scale with a colour bar;
* ``transfer_matrix.png``: rows (file, budget), columns the implementations, one decimal.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .advfile import AdvSet, _strict
from .replay import TARGET_ORDER, BuildInfo, ReplayResult

#: Line style / marker shape per file (cycled); colour per implementation. Implementations whose success is
#: identical are drawn as one line labelled ``csim = emulator = ...`` (:func:`agreeing_groups`): overlapping lines
#: would otherwise hide each other.
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
_STYLES = ("-", "--", ":", "-.")
_COLOURS = {"dense float": "#1b9e77", "hashed float": "#d95f02", "onnxruntime": "#7570b3", "emulator": "#e7298a",
            "csim": "#222222"}
_PHRASE = {"dense": "dense float model", "hashed": "hashed float model", "fixed": "fixed-point twin",
           "csim": "C simulation (queries only)"}
PLOTS = ("success_vs_eps.png", "success_vs_l2.png", "examples.png", "transfer_matrix.png")


def _pct(x: float | None) -> str:
    return "n/a" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{100 * x:.1f}%"


def _ordered(names):
    return sorted(names, key=lambda n: (TARGET_ORDER.index(n) if n in TARGET_ORDER else len(TARGET_ORDER), n))


def _by_name(result: ReplayResult) -> dict:
    return {t.name: t for t in result.targets}


def markdown_table(result: ReplayResult) -> str:
    """One file: success per implementation (columns) and budget (rows), with the distortion."""
    targets = _by_name(result)
    names = _ordered(targets)
    first = "eps" if result.budgeted else "set"
    head = f"| {first} | mean L-inf | mean L2 | mean L0 | " + " | ".join(names) + " |"
    rows = [head, "|---" * (4 + len(names)) + "|"]
    for i, eps in enumerate(result.eps):
        cells = [f"{_pct(targets[n].success_rate[i])} ({targets[n].successes[i]}/{targets[n].eligible[i]})"
                 for n in names]
        key = f"{eps:g}" if eps is not None else "budget-free"
        rows.append(f"| {key} | {result.linf[i]:.4f} | {result.l2[i]:.3f} | {result.l0[i]:.1f} | "
                    + " | ".join(cells) + " |")
    rows.append("| clean accuracy | | | | " + " | ".join(_pct(targets[n].clean_accuracy) for n in names) + " |")
    return "\n".join(rows)


def transfer_matrix(results: list[ReplayResult]) -> dict[str, dict[str, float | None]]:
    """Rows: every (file, budget), in file order; columns: where it was evaluated."""
    matrix: dict[str, dict[str, float | None]] = {}
    for r in results:
        for i, row in enumerate(r.row_labels()):
            matrix[row] = {t.name: t.success_rate[i] for t in r.targets}
    return matrix


def transfer_table(matrix: dict[str, dict[str, float | None]]) -> str:
    cols = _ordered({c for row in matrix.values() for c in row})
    rows = ["| crafted (file, budget) \\ evaluated on | " + " | ".join(cols) + " |", "|---" * (1 + len(cols)) + "|"]
    for src, row in matrix.items():
        rows.append(f"| {src} | " + " | ".join(_pct(row.get(c)) for c in cols) + " |")
    return "\n".join(rows)


def headline(result: ReplayResult, build: BuildInfo | None) -> list[str]:
    """The answer, one line per budget: crafted where, evaluated where, how often it fooled csim."""
    by = _by_name(result)
    ref = "csim" if "csim" in by else ("emulator" if "emulator" in by else next(iter(by)))
    origin = f"transfer from {result.transfer_from}" if result.transfer_from else "the build's model"
    where = f"{_PHRASE.get(result.crafted_on, result.where)} ({origin})"
    on = "this build's C simulation" if ref == "csim" else ref
    src = by.get("hashed float") or by.get("dense float")
    goal = "reached the attacker's target on" if result.target_mode != "untargeted" else "fooled"
    lines = []
    for i, row in enumerate(result.row_labels()):
        t = by[ref]
        sw = f"; on the float model {_pct(src.success_rate[i])}" if src is not None else ""
        lines.append(f"* **{row}**: crafted on the {where}; evaluated on {on}: {goal} {ref} on "
                     f"**{_pct(t.success_rate[i])}** ({t.successes[i]}/{t.eligible[i]} of the inputs it classified "
                     f"correctly when clean){sw}.")
    return lines


def build_section(build: BuildInfo) -> list[str]:
    lines = ["## The build", "",
             f"`{build.dir}`: model **{build.model_label}**, board `{build.board}`, reuse factor "
             f"{build.reuse_factor}, {build.io_type}, input `{build.input_precision}`, project hash "
             f"`{build.project_hash[:12]}`.", ""]
    if build.model:
        lines += [f"Model fingerprint `{build.model['fingerprint']}`, source `{build.model.get('source', '')}` "
                  f"(sha256 `{build.model.get('file_sha256', '')[:16]}`).", ""]
    lines += ["| layer | weight | bias | result | accum |", "|---|---|---|---|---|"]
    for name, p in build.precision.items():
        lines.append(f"| {name} | " + " | ".join(f"`{p[k]}`" if k in p else "" for k in
                                                  ("weight", "bias", "result", "accum")) + " |")
    return lines + [""]


def _provenance_line(adv: AdvSet) -> str:
    p = adv.provenance
    if p is None:
        return "Provenance: not recorded (a file written before hashhls 0.3)."
    hp = ", ".join(f"{k}={v}" for k, v in sorted(p.hyperparameters.items())) or "defaults"
    model = p.model.short if p.model is not None else "unknown model"
    build = f", build {p.build_id[:12]}" if p.build_id else ""
    return (f"Provenance: attack `{p.attack}` ({hp}), seed {p.seed}, {p.target_mode}, crafted on {p.crafted_on}"
            f"{build} of {model}, data {p.data or 'custom'}, hashhls {p.hashhls_version}.")


def render_markdown(advs: list[AdvSet], results: list[ReplayResult], build: BuildInfo | None,
                    plots: list[str]) -> str:
    lines = ["# Replay report", ""]
    evaluated = f"build `{build.dir}` of {build.model_label}" if build is not None else "the given implementations"
    lines += [f"Do adversarial examples made in software fool the hardware? Evaluated on {evaluated}; success "
              "counts only inputs the evaluated implementation classified correctly when clean.", ""]
    for r in results:
        lines += headline(r, build)
    lines.append("")
    if build is not None:
        lines += build_section(build)
    for adv, r in zip(advs, results):
        lines += [f"## {r.label}", "", f"`{adv.source or 'in memory'}`: {r.n} inputs."
                  + (f" Mean queries {', '.join(f'{q:.0f}' for q in r.queries)}." if r.queries else ""), "",
                  _provenance_line(adv), "", markdown_table(r), ""]
        if r.agreement:
            ref = "csim" if any(t.name == "csim" for t in r.targets) else "the emulator"
            lines += [f"Agreement of adversarial labels with {ref}: "
                      + ", ".join(f"{k} {_pct(v)}" for k, v in r.agreement.items()), ""]
    lines += ["## Transfer matrix", "", "Every (file, budget) is a row.", "",
              transfer_table(transfer_matrix(results)), ""]
    lines += [f"![{Path(p).stem}]({p})\n" for p in plots]
    return "\n".join(lines)


# -- plots ------------------------------------------------------------------------------------------------

def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 9, "axes.titlesize": 10})
    return plt


def agreeing_groups(result: ReplayResult) -> list[tuple[list[str], list[float | None]]]:
    """Implementations whose success is identical at every budget, grouped: ``([names], success per budget)``.

    Identical curves would hide each other in a plot; drawn once and labelled ``csim = emulator = ...`` they stay
    readable, and the label says which implementations agree. Groups and members follow the targets' order.
    """
    groups: dict[tuple, list[str]] = {}
    for name in _ordered([t.name for t in result.targets]):
        rates = _by_name(result)[name].success_rate
        key = tuple(None if v is None else round(float(v), 12) for v in rates)
        groups.setdefault(key, []).append(name)
    return [(names, list(key)) for key, names in groups.items()]


def _group_label(names: list[str]) -> str:
    return " = ".join(sorted(names, key=lambda n: n != "csim"))  # csim first: the number the report is about


def _group_style(names: list[str]) -> dict:
    """Colour and marker fill of a group: csim's (solid, drawn on top) if it is a member, else its first member's."""
    lead = "csim" if "csim" in names else names[0]
    csim = lead == "csim"
    return dict(color=_COLOURS.get(lead), markerfacecolor=_COLOURS.get(lead) if csim else "white",
                markeredgewidth=1.3, linewidth=1.8 if csim else 1.2, zorder=3 if csim else 2)


def plot_success_vs_eps(results: list[ReplayResult], path: Path) -> bool:
    """Success vs budget for files with 2+ budgets; False (nothing written) if there are none.

    One line per (file, group of implementations that agree), colour per implementation (csim's if it is in the
    group), marker and line style per file, the legend outside the axes.
    """
    swept = [r for r in results if r.budgeted and len(r.eps) >= 2]
    if not swept:
        return False
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    for k, r in enumerate(swept):
        for names, rates in agreeing_groups(r):
            ys = [np.nan if s is None else 100 * s for s in rates]
            label = _group_label(names)
            ax.plot(r.eps, ys, marker=_MARKERS[k % len(_MARKERS)], linestyle=_STYLES[k % len(_STYLES)],
                    markersize=6, alpha=0.95, label=f"{r.label}: {label}" if len(swept) > 1 else label,
                    **_group_style(names))
    ax.set_xticks(sorted({e for r in swept for e in r.eps}))
    ax.set_xlabel("L-inf budget eps")
    ax.set_ylabel("attack success (%)")
    ax.set_ylim(-3, 103)
    ax.grid(alpha=0.3)
    ax.set_title("success vs budget" + (f": {swept[0].label}" if len(swept) == 1 else ""))
    # Below the axes, not beside them: labels name files and groups of implementations and would squeeze the data.
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(0.0, -0.16), borderaxespad=0, frameon=False,
              title="evaluated on" if len(swept) == 1 else "file: evaluated on", title_fontsize=7,
              alignment="left", ncol=1 if len(swept) > 1 else 2)
    fig.tight_layout()
    fig.savefig(path, dpi=150, bbox_inches="tight")
    plt.close(fig)
    return True


def plot_success_vs_l2(results: list[ReplayResult], path: Path) -> bool:
    """Budget-free attacks: success vs mean L2, one marker shape per file, one colour per group of implementations
    that agree (labelled ``csim = emulator = ...``)."""
    free = [r for r in results if not r.budgeted]
    if not free:
        return False
    plt = _plt()
    from matplotlib.lines import Line2D

    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    handles = [Line2D([], [], marker=_MARKERS[k % len(_MARKERS)], linestyle="", color="gray",
                      markerfacecolor="none", label=r.label) for k, r in enumerate(free)]
    seen = {}
    for k, r in enumerate(free):
        for names, rates in agreeing_groups(r):
            style = _group_style(names)
            style.pop("linewidth")
            for l2, s in zip(r.l2, rates):
                ax.plot([l2], [np.nan if s is None else 100 * s], marker=_MARKERS[k % len(_MARKERS)], linestyle="",
                        markersize=7, **style)
            seen.setdefault(_group_label(names), names)
    handles += [Line2D([], [], marker="o", linestyle="", markersize=6, label=label,
                       **{k: v for k, v in _group_style(names).items() if k not in ("linewidth", "zorder")})
                for label, names in seen.items()]
    ax.set_xlabel("mean L2 distortion")
    ax.set_ylabel("attack success (%)")
    ax.set_ylim(-3, 103)
    lo, hi = min(min(r.l2) for r in free), max(max(r.l2) for r in free)
    pad = max(0.05, 0.15 * (hi - lo))
    ax.set_xlim(max(0.0, lo - pad), hi + pad)
    ax.grid(alpha=0.3)
    ax.set_title("budget-free attacks: success vs distortion")
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(0.0, -0.16), borderaxespad=0,
              frameon=False, ncol=2, alignment="left")
    fig.tight_layout()
    fig.savefig(path, dpi=150, bbox_inches="tight")
    plt.close(fig)
    return True


def pick_examples(adv: AdvSet, result: ReplayResult, k: int, eps_index: int = -1) -> list[int]:
    """Indices to show: float-vs-csim disagreements (csim successes among them first), then csim successes, then
    the rest (input order); when both kinds exist, disagreements fill at most half of ``k``."""
    from .replay import success_mask

    by = _by_name(result)
    ref = by.get("csim") or by.get("emulator") or result.targets[-1]
    fl = by.get("hashed float") or by.get("dense float") or ref
    pa_ref = np.asarray(ref.pred_adv[eps_index])
    disagree = pa_ref != np.asarray(fl.pred_adv[eps_index])
    _, success = success_mask(np.asarray(ref.pred_clean), pa_ref, adv.y, adv.target_labels)
    dis = [i for i in range(adv.n) if disagree[i] and success[i]] + [i for i in range(adv.n) if disagree[i]
                                                                     and not success[i]]
    won = [i for i in range(adv.n) if success[i] and not disagree[i]]
    # Both kinds on the figure when both exist: disagreements take at most half of it if csim successes could
    # fill the rest, then whatever is left in the same order.
    first = dis[:max(k - len(won), (k + 1) // 2)]
    chosen = first + won[:k - len(first)]
    rest = [i for i in dis + won + list(range(adv.n)) if i not in set(chosen)]
    return (chosen + list(dict.fromkeys(rest)))[:k]


def plot_examples(adv: AdvSet, result: ReplayResult, path: Path, k: int = 8, eps_index: int = -1) -> None:
    """Clean / adversarial / perturbation with every implementation's labels; one shared perturbation scale."""
    plt = _plt()
    idx = pick_examples(adv, result, min(k, adv.n), eps_index)
    k = len(idx)
    targets = sorted(result.targets, key=lambda t: _ordered([x.name for x in result.targets]).index(t.name))
    perts = [adv.x_adv[eps_index][j] - adv.x_clean[j] for j in idx]
    m = max(float(np.abs(p).max()) for p in perts) or 1.0
    fig, axes = plt.subplots(3, k, figsize=(1.45 * k + 1.2, 5.6), squeeze=False)

    def show(ax, img, **kw):
        img = np.asarray(img)
        im = ax.imshow(img[0] if img.shape[0] == 1 else np.transpose(img, (1, 2, 0)), **kw)
        ax.set_xticks([])
        ax.set_yticks([])
        return im

    by = _by_name(result)
    ref = by.get("csim") or by.get("emulator")
    fl = by.get("hashed float") or by.get("dense float")
    for col, (j, pert) in enumerate(zip(idx, perts)):
        show(axes[0, col], adv.x_clean[j], cmap="gray", vmin=0, vmax=1)
        show(axes[1, col], adv.x_adv[eps_index][j], cmap="gray", vmin=0, vmax=1)
        im = show(axes[2, col], pert.mean(axis=0, keepdims=True), cmap="seismic", vmin=-m, vmax=m)
        title = f"#{j} true {adv.y[j]}"
        if adv.target_labels is not None:
            title += f" -> {adv.target_labels[j]}"
        if ref is not None and fl is not None and ref.pred_adv[eps_index][j] != fl.pred_adv[eps_index][j]:
            title += "\nfloat != csim"
        axes[0, col].set_title(title, fontsize=7)
        axes[2, col].set_xlabel(_prediction_lines(targets, j, eps_index), fontsize=6)
    axes[0, 0].set_ylabel("clean")
    axes[1, 0].set_ylabel("adversarial")
    axes[2, 0].set_ylabel("perturbation")
    fig.text(0.01, 0.01, "labels: clean->adversarial prediction; " + ", ".join(
        f"{_SHORT.get(t.name, t.name)} = {t.name}" for t in targets if _SHORT.get(t.name, t.name) != t.name),
        fontsize=6, color="0.3")
    eps = result.eps[eps_index]
    budget = f"eps={eps:g}" if eps is not None else f"mean L2 {result.l2[eps_index]:.2f}"
    n_dis = 0 if ref is None or fl is None else int(np.sum(np.asarray(ref.pred_adv[eps_index])
                                                            != np.asarray(fl.pred_adv[eps_index])))
    fig.suptitle(f"{result.label}, {budget}: float and csim disagree on {n_dis} of {adv.n}; "
                 "shown: those first, then csim successes", fontsize=9)
    fig.tight_layout(rect=(0, 0, 0.9, 1))
    cax = fig.add_axes((0.915, 0.08, 0.012, 0.24))
    fig.colorbar(im, cax=cax)
    cax.set_title("x_adv - x", fontsize=7)
    fig.savefig(path, dpi=150)
    plt.close(fig)


#: short names under the example images (a column is 1.4 inches wide)
_SHORT = {"dense float": "dense", "hashed float": "float", "onnxruntime": "ORT", "emulator": "emu", "csim": "csim"}


def _prediction_lines(targets, j: int, eps_index: int) -> str:
    """``clean->adversarial`` per implementation; implementations that agree share a line, csim's first."""
    lines: dict[str, list[str]] = {}
    for t in sorted(targets, key=lambda t: t.name != "csim"):
        lines.setdefault(f"{t.pred_clean[j]}->{t.pred_adv[eps_index][j]}", []).append(_SHORT.get(t.name, t.name))
    return "\n".join(f"{', '.join(names)}: {pred}" for pred, names in lines.items())


def plot_transfer(matrix: dict[str, dict[str, float | None]], path: Path, title: str) -> None:
    plt = _plt()
    rows = list(matrix)
    cols = _ordered({c for row in matrix.values() for c in row})
    data = np.array([[np.nan if matrix[r].get(c) is None else 100 * matrix[r][c] for c in cols] for r in rows])
    width = 1.25 * len(cols) + 0.09 * max(len(r) for r in rows) + 2.0
    fig, ax = plt.subplots(figsize=(width, 0.5 * len(rows) + 1.9))
    im = ax.imshow(data, cmap="magma", vmin=0, vmax=100, aspect="auto")
    ax.set_xticks(range(len(cols)), cols, rotation=25, ha="right")
    ax.set_yticks(range(len(rows)), rows, fontsize=8)
    ax.set_xlabel("evaluated on")
    ax.set_ylabel("crafted (file, budget)")
    for i in range(len(rows)):
        for j in range(len(cols)):
            v = data[i, j]
            ax.text(j, i, "n/a" if np.isnan(v) else f"{v:.1f}%", ha="center", va="center",
                    color="white" if not np.isnan(v) and v < 60 else "black", fontsize=8)
    fig.colorbar(im, ax=ax, label="attack success (%)")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=150, bbox_inches="tight")
    plt.close(fig)


def report_payload(advs: list[AdvSet], results: list[ReplayResult], build: BuildInfo | None) -> dict:
    matrix = transfer_matrix(results)
    return _strict({
        "build": None if build is None else build.__dict__,
        "results": [r.to_json_dict() for r in results],
        "transfer_matrix": matrix,
        "rows": [{"row": row, "label": r.label, "file": r.file, "attack": r.attack, "crafted_on": r.crafted_on,
                  "eps": r.eps[i], "mean_l2": r.l2[i], "mean_l0": r.l0[i], "transfer_from": r.transfer_from,
                  "success": matrix[row]}
                 for r in results for i, row in enumerate(r.row_labels())],
    })


def write_report(out_dir: Path, advs: list[AdvSet], results: list[ReplayResult],
                 build: BuildInfo | None = None) -> list[Path]:
    """Write report.md, report.json and the plots into ``out_dir`` (which must exist); returns the files."""
    out_dir = Path(out_dir)
    plots = []
    if plot_success_vs_eps(results, out_dir / "success_vs_eps.png"):
        plots.append("success_vs_eps.png")
    if plot_success_vs_l2(results, out_dir / "success_vs_l2.png"):
        plots.append("success_vs_l2.png")
    plot_examples(advs[0], results[0], out_dir / "examples.png")
    plots.append("examples.png")
    where = f"build of {build.model_label}" if build is not None else "every implementation"
    sizes = {a.n for a in advs}
    of = f"\n({sizes.pop()} inputs per row; success among those each implementation classified correctly)" \
        if len(sizes) == 1 else ""
    plot_transfer(transfer_matrix(results), out_dir / "transfer_matrix.png",
                  f"attack success on the {where}{of}")
    plots.append("transfer_matrix.png")
    (out_dir / "report.md").write_text(render_markdown(advs, results, build, plots))
    payload = report_payload(advs, results, build)
    (out_dir / "report.json").write_text(json.dumps(payload, indent=2, allow_nan=False) + "\n")
    return [out_dir / "report.md", out_dir / "report.json", *(out_dir / p for p in plots)]


class Report:
    """A replay's results: the build, the sets, one :class:`ReplayResult` per set.

    ``report.markdown`` is ``report.md``; ``report.to_dict()`` is ``report.json``; ``report.matrix`` the
    transfer matrix; ``report.write(out)`` writes the directory (atomically; refuses an existing one unless
    ``force``).
    """

    def __init__(self, build: BuildInfo | None, advs: list[AdvSet], results: list[ReplayResult],
                 out: Path | None = None) -> None:
        self.build, self.advs, self.results, self.out = build, advs, results, out

    @property
    def matrix(self) -> dict[str, dict[str, float | None]]:
        return transfer_matrix(self.results)

    @property
    def markdown(self) -> str:
        return render_markdown(self.advs, self.results, self.build, [])

    def to_dict(self) -> dict:
        return report_payload(self.advs, self.results, self.build)

    def table(self) -> str:
        """The transfer matrix as a markdown table (what the CLI prints)."""
        return transfer_table(self.matrix)

    def write(self, out: str | Path, force: bool = False) -> Path:
        from ..core.atomic import atomic_dir, check_output_dir

        out = check_output_dir(out, force, what="report")
        with atomic_dir(out, force=force) as tmp:
            write_report(tmp, self.advs, self.results, self.build)
        self.out = Path(out)
        return self.out

    def __repr__(self) -> str:
        return f"Report({len(self.results)} sets, {len(self.matrix)} rows, build={self.build and self.build.dir!r})"
