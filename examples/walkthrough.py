# %% [markdown]
# # hashhls walk-through: do adversarial examples made in software still fool the hardware?
#
# A notebook in percent format (open it in Jupyter with jupytext, or VS Code's "Run Cell"); it also runs as a
# script: `python examples/walkthrough.py [OUT_DIR]`, which CI does (`hw_tests/test_examples.py`). Small `n`
# throughout: about a minute on two cores.
#
# The stages: build the bundled hash-compressed MNIST MLP for a PYNQ-Z2 (an hls4ml project with its C
# simulation compiled), compare the C simulation with the bit-exact numpy emulator, craft PGD on the build's
# own fixed-point twin and on the float model, replay both on every implementation, read the report, and run
# the transfer experiment.

# %%
import sys
import tempfile
from pathlib import Path

import numpy as np

import hashhls

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="hashhls-walkthrough-"))
N = 100  # test images per attack: small, to keep the walk-through quick

# %% [markdown]
# ## 1. Build
# `hashhls.build` is `hashhls build`: no model means the bundled one. The summary is the build's `summary.md`:
# per-layer sizes and precision, resource estimates and the precision guard (fixed vs float agreement on the
# calibration images).

# %%
b = hashhls.build(board="pynq-z2", output=OUT / "build")
print(b.summary)

# %% [markdown]
# ## 2. Predict: C simulation vs emulator
# `b.predict` runs the compiled C simulation; `b.emulator` is the numpy model of the same integer arithmetic.
# They agree bit for bit, which is what lets attacks differentiate a twin of the emulator.

# %%
x, y = hashhls.datasets.mnist("test")
x, y = x[:500], y[:500]
z_csim = b.predict(x)
z_emu = b.emulator.predict(x)
print("csim accuracy:", (z_csim.argmax(1) == y).mean())
print("csim == emulator, bit for bit:", np.array_equal(z_csim, z_emu))
assert np.array_equal(z_csim, z_emu)

# %% [markdown]
# ## 3. Craft PGD on the twin and on the float model
# `on="fixed"` with `build=b` differentiates the build's fixed-point twin (its per-layer types);
# `on="hashed"` the float model it was built from. `adv.success` is (rate, eligible inputs) per budget on the
# model the examples were crafted on.

# %%
eps = [0.05, 0.1]
adv_twin = hashhls.attack(None, "pgd", eps=eps, on="fixed", build=b, n=N)
adv_float = hashhls.attack(None, "pgd", eps=eps, on="hashed", n=N)
for name, adv in (("twin", adv_twin), ("float", adv_float)):
    print(f"PGD on the {name}:", ", ".join(f"eps {e:g}: {r:.1%} of {k}" for e, (r, k) in zip(eps, adv.success)))

# %% [markdown]
# ## 4. Replay on every implementation
# The float model, ONNX Runtime, the emulator and csim, one row per (file, budget).

# %%
report = hashhls.replay(b, [adv_twin, adv_float], out=OUT / "report")
print(report.table())

# %% [markdown]
# ## 5. Read the report
# `report.md` starts with the answer (crafted where, evaluated where, how often it fooled csim), then the
# build; `report.json` holds the same numbers (strict JSON); the plots sit next to them.

# %%
print("\n".join(report.markdown.splitlines()[:12]))
print("plots:", sorted(p.name for p in (OUT / "report").glob("*.png")))

# %% [markdown]
# ## 6. The transfer experiment
# `hashhls.transfer` crafts four sets on the first `n` test images (the dense float parent, the hashed float
# model, the build's twin, and Square on csim) and replays each everywhere: the transfer matrix.

# %%
tr = hashhls.transfer(b, n=50, queries=100, out=OUT / "transfer")
print(tr.table())
