"""LeNet-5 end to end on the frontend side: recipe, bundled checkpoint, ONNX parity, attacks (CLI)."""

from __future__ import annotations

import subprocess
import sys

from hashhls.frontend.checkpoint import checkpoint_metrics
from hashhls.frontend.train import RECIPES


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "hashhls", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def test_cli_recipe_table_matches_the_frontend():
    from hashhls.commands import train as train_cmd

    assert set(train_cmd.RECIPES) == set(RECIPES)
    for name, r in RECIPES.items():
        assert train_cmd.RECIPES[name] == (r.epochs, r.batch_size, r.lr), name


def test_cli_train_uses_the_models_recipe(tmp_path):
    """Without --epochs/--lr/--batch-size, `hashhls train` takes them from the model's recipe."""
    proc = _cli("train", "--model", "lenet5", "--limit", "64", "--epochs", "1", "-o", "l.pt", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    m = checkpoint_metrics(tmp_path / "l.pt")
    assert (m["epochs"], m["batch_size"], m["lr"]) == (1, RECIPES["lenet5"].batch_size, RECIPES["lenet5"].lr)
    assert RECIPES["lenet5"].lr != RECIPES["mnist-mlp"].lr  # so the check above tells the two apart
