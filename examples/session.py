"""The README's 10-line session: build, attack on the build's own fixed-point twin, replay, read the answer."""

import sys
import tempfile

import hashhls

out = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="hashhls-session-")
b = hashhls.build(board="pynq-z2", output=f"{out}/build")           # the bundled MNIST model; summary in b.summary
x, y = hashhls.datasets.mnist("test")
print("csim accuracy:", (b.predict(x[:500]).argmax(1) == y[:500]).mean())
adv = hashhls.attack(None, "pgd", eps=[0.05, 0.1], on="fixed", build=b, n=200)   # crafted on the build's twin
print("success on the twin:", [f"{r:.1%}" for r, _ in adv.success])
report = hashhls.replay(b, [adv], out=f"{out}/report")
print(report.table())
