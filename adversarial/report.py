"""Replay reports: ``report.md``, ``report.json`` and plots.

One writer for ``hashhls replay`` (one crafting source, one or more budgets)
and ``hashhls transfer`` (several crafting sources: the transfer matrix).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from .replay import TARGET_ORDER, AdvSet, ReplayResult


def _pct(x: float) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"


def _ordered(names):
    return sorted(names, key=lambda n: (TARGET_ORDER.index(n) if n in TARGET_ORDER else len(TARGET_ORDER), n))


def markdown_table(result: ReplayResult) -> str:
    """Success rate per target (columns) and budget (rows)."""
    targets = {t.name: t for t in result.targets}
    names = _ordered(targets)
    head = "| eps | mean L-inf | mean L2 | " + " | ".join(names) + " |"
    sep = "|---" * (3 + len(names)) + "|"
    rows = [head, sep]
    for i, eps in enumerate(result.eps):
        cells = [f"{_pct(targets[n].success_rate[i])} ({targets[n].successes[i]}/{targets[n].eligible[i]})"
                 for n in names]
        rows.append(f"| {eps:g} | {result.linf[i]:.4f} | {result.l2[i]:.3f} | " + " | ".join(cells) + " |")
    acc = "| clean accuracy | | | " + " | ".join(_pct(targets[n].clean_accuracy) for n in names) + " |"
    rows.append(acc)
    return "\n".join(rows)


def transfer_table(matrix: dict[str, dict[str, float]]) -> str:
    cols = _ordered({c for row in matrix.values() for c in row})
    rows = ["| crafted on \\ evaluated on | " + " | ".join(cols) + " |", "|---" * (1 + len(cols)) + "|"]
    for src, row in matrix.items():
        rows.append(f"| {src} | " + " | ".join(_pct(row.get(c, float("nan"))) for c in cols) + " |")
    return "\n".join(rows)


def plot_success_vs_eps(results: list[ReplayResult], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for r in results:
        for t in r.targets:
            label = t.name if len(results) == 1 else f"{r.crafted_on} -> {t.name}"
            ax.plot(r.eps, [100 * s for s in t.success_rate], marker="o", label=label)
    ax.set_xlabel("eps (L-inf budget)" if results and results[0].eps else "eps")
    ax.set_ylabel("attack success rate (%)")
    ax.set_ylim(-2, 102)
    ax.set_title(f"{results[0].attack}: success vs budget")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_examples(adv: AdvSet, result: ReplayResult, path: Path, k: int = 6, eps_index: int = -1) -> None:
    """Clean / adversarial / perturbation for the first k inputs, with every target's labels."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k = min(k, adv.n)
    targets = sorted(result.targets, key=lambda t: _ordered([x.name for x in result.targets]).index(t.name))
    fig, axes = plt.subplots(3, k, figsize=(1.9 * k, 6.4), squeeze=False)
    for j in range(k):
        clean, xa = adv.x_clean[j], adv.x_adv[eps_index][j]
        pert = xa - clean

        def show(ax, img, **kw):
            img = np.asarray(img)
            ax.imshow(img[0] if img.shape[0] == 1 else np.transpose(img, (1, 2, 0)), **kw)
            ax.set_xticks([])
            ax.set_yticks([])

        show(axes[0, j], clean, cmap="gray", vmin=0, vmax=1)
        show(axes[1, j], xa, cmap="gray", vmin=0, vmax=1)
        m = float(np.abs(pert).max()) or 1.0
        show(axes[2, j], pert.mean(axis=0, keepdims=True), cmap="seismic", vmin=-m, vmax=m)
        axes[0, j].set_title(f"true {adv.y[j]}", fontsize=8)
        labels = "\n".join(f"{t.name}: {t.pred_clean[j]}->{t.pred_adv[eps_index][j]}" for t in targets)
        axes[2, j].set_xlabel(labels, fontsize=6)
    axes[0, 0].set_ylabel("clean")
    axes[1, 0].set_ylabel("adversarial")
    axes[2, 0].set_ylabel("perturbation")
    fig.suptitle(f"{result.attack} crafted on {result.crafted_on}, eps={result.eps[eps_index]:g}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_transfer(matrix: dict[str, dict[str, float]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = list(matrix)
    cols = _ordered({c for row in matrix.values() for c in row})
    data = np.array([[matrix[r].get(c, np.nan) * 100 for c in cols] for r in rows])
    fig, ax = plt.subplots(figsize=(1.4 * len(cols) + 2.5, 0.7 * len(rows) + 1.8))
    im = ax.imshow(data, cmap="magma", vmin=0, vmax=100)
    ax.set_xticks(range(len(cols)), cols, rotation=30, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel("evaluated on")
    ax.set_ylabel("crafted on")
    for i in range(len(rows)):
        for j in range(len(cols)):
            v = data[i, j]
            ax.text(j, i, "n/a" if np.isnan(v) else f"{v:.0f}%", ha="center", va="center",
                    color="white" if not np.isnan(v) and v < 60 else "black", fontsize=8)
    fig.colorbar(im, ax=ax, label="success rate (%)")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def transfer_matrix(results: list[ReplayResult], eps_index: int = -1) -> dict[str, dict[str, float]]:
    """Rows: where each set was crafted; columns: where it was evaluated."""
    return {r.crafted_on: {t.name: t.success_rate[eps_index] for t in r.targets} for r in results}


def write_report(out_dir: Path, advs: list[AdvSet], results: list[ReplayResult], build_dir: str) -> list[Path]:
    """Write report.md, report.json and the plots into ``out_dir`` (which must exist)."""
    out_dir = Path(out_dir)
    written = []
    plot_success_vs_eps(results, out_dir / "success_vs_eps.png")
    plot_examples(advs[0], results[0], out_dir / "examples.png")
    matrix = transfer_matrix(results)
    plot_transfer(matrix, out_dir / "transfer_matrix.png", f"{results[0].attack}, eps={results[0].eps[-1]:g}")
    written += [out_dir / n for n in ("success_vs_eps.png", "examples.png", "transfer_matrix.png")]
    lines = [f"# Replay report: {results[0].attack}", "", f"Build: `{build_dir}`", "",
             "Success rate counts only inputs that the evaluated implementation classified correctly when "
             "clean (successes / eligible in brackets).", ""]
    for adv, r in zip(advs, results):
        lines += [f"## Crafted on {r.crafted_on} ({adv.source or 'in memory'})", "",
                  f"{r.n} inputs, attack `{r.attack}`" + (f", mean queries {r.queries}" if r.queries else ""), "",
                  markdown_table(r), ""]
        if r.agreement:
            lines += ["Agreement of adversarial labels with "
                      + ("csim" if any(t.name == "csim" for t in r.targets) else "the emulator") + ": "
                      + ", ".join(f"{k} {_pct(v)}" for k, v in r.agreement.items()), ""]
    lines += ["## Transfer matrix (last budget)", "", transfer_table(matrix), "",
              "![success vs eps](success_vs_eps.png)", "", "![examples](examples.png)", "",
              "![transfer matrix](transfer_matrix.png)", ""]
    (out_dir / "report.md").write_text("\n".join(lines))
    payload = {"build": str(build_dir), "results": [r.to_json_dict() for r in results], "transfer_matrix": matrix}
    (out_dir / "report.json").write_text(json.dumps(payload, indent=2, allow_nan=True) + "\n")
    return [out_dir / "report.md", out_dir / "report.json", *written]
