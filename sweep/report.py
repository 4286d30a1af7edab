"""``hashhls sweep report RESULTS/``: ``report.md`` and the plots of a sweep, from ``results.parquet`` alone.

Every rate pools the cells it summarises (successes / eligible inputs over the axes a plot does not show, e.g.
seeds), so a point is never a mean of rates over different denominators. Plots (each only when it has data):

* ``success_vs_compression.png``: attack success on csim against compression, one panel per crafting site,
  colour per GI setting, line style per attack;
* ``success_vs_precision.png``: success on csim per build precision, one group per attack;
* ``accuracy_vs_compression.png``: clean accuracy of the float model and of csim against compression, per GI;
* ``transfer_<model>.png``: per model, the software-to-hardware transfer heatmap: rows = (compression,
  crafting site, attack), columns = the implementation the examples were replayed on.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from ..core.atomic import atomic_file
from .results import OK, read_table

HARDWARE = "csim"
TARGETS = ("hashed float", "onnxruntime", "emulator", "csim")
SITE_ORDER = ("dense", "hashed", "fixed", "csim")
_GI_COLOURS = ("#222222", "#d95f02", "#1b9e77", "#7570b3", "#e7298a", "#66a61e")
_STYLES = ("-", "--", ":", "-.")
_MARKERS = ("o", "s", "^", "D", "v", "P")


def _attack(r: dict) -> str:
    return r["attack_label"] + ("" if r["eps"] is None else f" eps {r['eps']:g}")


def _pool(rows: list[dict], key) -> dict:
    """key(row) -> pooled success rate (None when nothing was eligible)."""
    succ: dict = defaultdict(int)
    elig: dict = defaultdict(int)
    for r in rows:
        k = key(r)
        succ[k] += r["successes"]
        elig[k] += r["eligible"]
    return {k: (succ[k] / elig[k] if elig[k] else None) for k in succ}


def _mean(rows: list[dict], key, value: str) -> dict:
    acc: dict = defaultdict(list)
    for r in rows:
        acc[key(r)].append(r[value])
    return {k: sum(v) / len(v) for k, v in acc.items()}


def _pct(x) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 9, "axes.titlesize": 10})
    return plt


def _sorted_sites(sites) -> list[str]:
    return sorted(sites, key=lambda s: SITE_ORDER.index(s) if s in SITE_ORDER else 99)


def main_precision(rows: list[dict]) -> str:
    """The precision the compression plots show (``auto`` if the study has it, else the most common one)."""
    counts: dict[str, int] = defaultdict(int)
    for r in rows:
        counts[r["precision"]] += 1
    return "auto" if "auto" in counts else max(counts, key=counts.get)


def _short(precision: str) -> str:
    return precision.replace(",AP_RND_CONV,AP_SAT", "")


def plot_success_vs_compression(rows: list[dict], path: Path) -> bool:
    prec = main_precision(rows) if rows else None
    hw = [r for r in rows if r["target"] == HARDWARE and r["precision"] == prec]
    if not hw:
        return False
    plt = _plt()
    sites = _sorted_sites({r["site"] for r in hw})
    gis = sorted({r["gi"] for r in hw}, key=lambda g: (g != "none", g))
    attacks = sorted({_attack(r) for r in hw})
    rate = _pool(hw, lambda r: (r["site"], r["gi"], _attack(r), r["compression"]))
    fig, axes = plt.subplots(1, len(sites), figsize=(3.4 * len(sites) + 1.8, 3.4), sharey=True, squeeze=False)
    for ax, site in zip(axes[0], sites):
        for gi_i, gi in enumerate(gis):
            for a_i, atk in enumerate(attacks):
                pts = sorted((c, v) for (s, g, a, c), v in rate.items() if s == site and g == gi and a == atk)
                if not pts:
                    continue
                ax.plot([c for c, _ in pts], [float("nan") if v is None else 100 * v for _, v in pts],
                        color=_GI_COLOURS[gi_i % len(_GI_COLOURS)], linestyle=_STYLES[a_i % len(_STYLES)],
                        marker=_MARKERS[a_i % len(_MARKERS)], markersize=4, label=f"{atk}, GI {gi}")
        ax.set_xscale("log", base=2)
        comps = sorted({r["compression"] for r in hw})
        ax.set_xticks(comps, [f"{c:g}" for c in comps])
        ax.set_title(f"crafted on {site} (precision {_short(prec)})")
        ax.set_xlabel("compression (virtual / stored weights)")
        ax.set_ylim(-3, 103)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("attack success on csim (%)")
    handles, labels = [], []
    for ax in axes[0]:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    fig.tight_layout()
    _save(fig, path, plt)
    return True


def plot_success_vs_precision(rows: list[dict], path: Path) -> bool:
    # only cells that exist at every precision, so that each bar pools the same models and attacks
    hw = [r for r in rows if r["target"] == HARDWARE]
    all_prec = {r["precision"] for r in hw}

    def others(r):
        return (r["model"], r["compression"], r["gi"], r["seed"], r["hash_seed"], r["reuse_factor"], r["site"],
                _attack(r))

    seen: dict = defaultdict(set)
    for r in hw:
        seen[others(r)].add(r["precision"])
    hw = [r for r in hw if seen[others(r)] == all_prec]
    if not hw:
        return False
    plt = _plt()
    precisions = sorted({r["precision"] for r in hw}, key=lambda p: (p != "auto", p))
    attacks = sorted({(_attack(r), r["site"]) for r in hw})
    rate = _pool(hw, lambda r: ((_attack(r), r["site"]), r["precision"]))
    fig, ax = plt.subplots(figsize=(max(4.5, 1.1 * len(precisions) * max(1, len(attacks)) ** 0.5 + 2), 3.4))
    width = 0.8 / max(1, len(attacks))
    for i, atk in enumerate(attacks):
        xs = [j + (i - (len(attacks) - 1) / 2) * width for j in range(len(precisions))]
        ys = [100 * (rate.get((atk, p)) or 0.0) for p in precisions]
        ax.bar(xs, ys, width=width, label=f"{atk[0]} on {atk[1]}", color=plt.cm.tab20(i % 20))
    ax.set_xticks(range(len(precisions)), [_short(p) for p in precisions])
    ax.set_xlabel("build precision ('auto' = profiled per layer)")
    ax.set_title(f"cells built at every precision ({len({others(r) for r in hw})} per bar)")
    ax.set_ylabel("attack success on csim (%)")
    ax.set_ylim(0, 103)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, fontsize=8)
    fig.tight_layout()
    _save(fig, path, plt)
    return True


def plot_accuracy_vs_compression(rows: list[dict], path: Path) -> bool:
    prec = main_precision(rows) if rows else None
    ok = [r for r in rows if r["target"] in ("hashed float", HARDWARE) and r["precision"] == prec]
    if not ok:
        return False
    plt = _plt()
    # clean accuracy is a property of the build, not of the attack: one value per (build, target)
    per_build = {(r["build_key"], r["target"]): r for r in ok}.values()
    acc = _mean(list(per_build), lambda r: (r["gi"], r["target"], r["compression"]), "clean_accuracy")
    gis = sorted({k[0] for k in acc}, key=lambda g: (g != "none", g))
    fig, ax = plt.subplots(figsize=(6.2, 3.4))
    for gi_i, gi in enumerate(gis):
        for target, style, marker in (("hashed float", "-", "o"), (HARDWARE, "--", "s")):
            pts = sorted((c, v) for (g, t, c), v in acc.items() if g == gi and t == target)
            if pts:
                ax.plot([c for c, _ in pts], [100 * v for _, v in pts], linestyle=style, marker=marker, markersize=4,
                        color=_GI_COLOURS[gi_i % len(_GI_COLOURS)], label=f"GI {gi}, {target}")
    comps = sorted({r["compression"] for r in ok})
    ax.set_xscale("log", base=2)
    ax.set_xticks(comps, [f"{c:g}" for c in comps])
    ax.set_xlabel("compression (virtual / stored weights)")
    ax.set_ylabel(f"clean accuracy (%), first {ok[0]['n_images']} test images")
    ax.set_title(f"float model and csim (precision {_short(prec)})")
    ax.grid(alpha=0.3)
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    fig.tight_layout()
    _save(fig, path, plt)
    return True


def plot_transfer(rows: list[dict], model: str, path: Path) -> bool:
    mine = [r for r in rows if r["model"] == model]
    if not mine:
        return False
    plt = _plt()
    many = len({r["precision"] for r in mine}) > 1
    rate = _pool(mine, lambda r: ((r["compression"], r["gi"], _short(r["precision"]) if many else "",
                                   SITE_ORDER.index(r["site"]), _attack(r)), r["target"]))
    row_keys = sorted({k[0] for k in rate})
    targets = [t for t in TARGETS if any(k[1] == t for k in rate)]
    import numpy as np

    m = np.array([[np.nan if rate.get((rk, t)) is None else 100 * rate[(rk, t)] for t in targets] for rk in row_keys])
    fig, ax = plt.subplots(figsize=(1.2 * len(targets) + 4.2, 0.32 * len(row_keys) + 1.6))
    im = ax.imshow(m, cmap="magma_r", vmin=0, vmax=100, aspect="auto")
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            if not np.isnan(m[i, j]):
                ax.text(j, i, f"{m[i, j]:.0f}", ha="center", va="center", fontsize=7,
                        color="white" if m[i, j] > 55 else "black")
    ax.set_xticks(range(len(targets)), [f"on {t}" for t in targets], rotation=25, ha="right")
    ax.set_yticks(range(len(row_keys)),
                  [f"c{c:g} GI {g}{' ' + p if p else ''}: {a} crafted on {SITE_ORDER[s]}" for c, g, p, s, a in row_keys],
                  fontsize=7)
    ax.set_title(f"{model}: attack success (%) where replayed")
    fig.colorbar(im, ax=ax, fraction=0.04, pad=0.02, label="success (%)")
    fig.tight_layout()
    _save(fig, path, plt)
    return True


def _save(fig, path: Path, plt) -> None:
    with atomic_file(path) as tmp:
        fig.savefig(tmp, dpi=150, bbox_inches="tight", format="png")
    plt.close(fig)


def render_markdown(rows: list[dict], plots: list[str], study: dict) -> str:
    ok = [r for r in rows if r["status"] == OK]
    failed = [r for r in rows if r["status"] != OK]
    cells = {r["cell"] for r in rows}
    lines = [f"# Sweep report: {rows[0]['study']}", "",
             f"{len(cells)} cells ({len({r['cell'] for r in failed})} failed), {len(ok)} (cell, target) rows; "
             f"{rows[0]['n_images']} test images per cell; hashhls {rows[0]['hashhls_version']}, "
             f"torch {rows[0]['torch_version']}, hls4ml {rows[0]['hls4ml_version']}.", ""]
    if study:
        lines += [f"Engine {study.get('engine')} with {study.get('workers')} worker(s): "
                  f"{study.get('stages_computed')} stages computed, {study.get('stages_cached')} cached, "
                  f"{study.get('stages_failed')} failed, {study.get('wall_seconds', 0):.1f} s.", ""]
    lines += ["Success counts only inputs the implementation classified correctly when clean; rates pool the cells "
              "a row summarises.", ""]
    for p in plots:
        lines += [f"![{p}]({p})", ""]
    head = ["model", "compression", "GI", "precision", "crafted on", "attack", "clean float", "clean csim",
            *(f"success on {t}" for t in TARGETS)]
    lines += ["## Results", "", "| " + " | ".join(head) + " |", "|---" * len(head) + "|"]

    def key(r):
        return (r["model"], r["compression"], r["gi"], r["precision"], SITE_ORDER.index(r["site"]), _attack(r))

    rate = _pool(ok, lambda r: (key(r), r["target"]))
    acc = _mean(ok, lambda r: (key(r), r["target"]), "clean_accuracy")
    for k in sorted({k for k, _ in rate}):
        model, comp, gi, prec, site, atk = k
        lines.append("| " + " | ".join([model, f"{comp:g}", gi, _short(prec),
                                        SITE_ORDER[site], atk, _pct(acc.get((k, "hashed float"))),
                                        _pct(acc.get((k, HARDWARE))),
                                        *(_pct(rate.get((k, t))) for t in TARGETS)]) + " |")
    if failed:
        lines += ["", "## Failed cells", ""]
        lines += [f"- `{r['cell']}`: {r['error']}" for r in failed]
    return "\n".join(lines) + "\n"


def write_report(results: str | Path) -> Path:
    """Write ``report.md`` and the plots into ``results`` (replacing an earlier report); returns report.md."""
    results = Path(results)
    rows = read_table(results)
    ok = [r for r in rows if r["status"] == OK]
    plots = []
    for name, fn in (("success_vs_compression.png", plot_success_vs_compression),
                     ("success_vs_precision.png", plot_success_vs_precision),
                     ("accuracy_vs_compression.png", plot_accuracy_vs_compression)):
        if fn(ok, results / name):
            plots.append(name)
    for model in sorted({r["model"] for r in ok}):
        name = f"transfer_{model}.png"
        if plot_transfer(ok, model, results / name):
            plots.append(name)
    study_file = results / "study.json"
    study = json.loads(study_file.read_text()) if study_file.is_file() else {}
    path = results / "report.md"
    with atomic_file(path) as tmp:
        tmp.write_text(render_markdown(rows, plots, study))
    return path
