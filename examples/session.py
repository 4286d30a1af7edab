"""The README's 10-line session: build, attack on the build's own fixed-point twin, replay, read the answer.

Run it from the directory it should write into (out/build, out/report, adv.npz). README.md quotes every line
below the marker, verbatim (hw_tests/test_examples.py checks that, and runs this script).
"""
# --- README ---
import hashhls

b = hashhls.build(board="pynq-z2", output="out/build")        # -> Build: .summary, .manifest, .emulator
x, y = hashhls.datasets.mnist("test")
print("csim accuracy:", (b.predict(x[:500]).argmax(1) == y[:500]).mean())   # csim
adv = hashhls.attack(None, "pgd", eps=[0.05, 0.1], on="fixed", build=b, n=200)   # -> AdvSet
print("success on the twin:", adv.success)                     # (rate, eligible) per budget
report = hashhls.replay(b, [adv], out="out/report")            # -> Report: .matrix, .markdown, .to_dict()
print(report.table())
adv.save("adv.npz")                                            # what `hashhls replay` reads
