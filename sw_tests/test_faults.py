"""Bit flips in the weight store (hashhls.adversarial.faults): BFA against an exhaustive search, the checksum,
bad input. The emulator == csim check after flips is in hw_tests/test_faults_csim.py."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import numpy_helper
from onnx_models import dense, hashed, mlp_onnx, relu

from hashhls.adversarial.faults import (BitFlip, BitFlipAttack, RandomFlips, WeightStore, detect, exact_loss,
                                        flip_codes, make_fault_attack)
from hashhls.codegen.emulator import Emulator
from hashhls.codegen.fixed import FixedType
from hashhls.codegen.project import plan_in_memory
from hashhls.core.errors import UsageError

T16 = FixedType.parse("ap_fixed<16,6>")


def _tiny(seed=3):
    """A hashed 8 -> 4 layer (K=5: each word feeds 6.4 virtual weights), ReLU, dense 4 -> 3."""
    proto = mlp_onnx([hashed(8, 4, 5, seed=1), relu(), dense(4, 3)], input_shape=(8,), seed=seed, scale=0.4)
    manifest, model = plan_in_memory(proto)
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (24, 8)).astype(np.float32)
    y = rng.integers(0, 3, 24)
    return manifest, model, x, y


def _flip_by_text(value: float, bit: int, t: FixedType) -> float:
    """Independent bit flip: the word's two's-complement bit string, one character changed."""
    code = int(round(value * 2**t.frac))
    s = list(format(code & ((1 << t.width) - 1), f"0{t.width}b"))
    s[t.width - 1 - bit] = "1" if s[t.width - 1 - bit] == "0" else "0"
    u = int("".join(s), 2)
    return (u - (1 << t.width) if u >= 1 << (t.width - 1) else u) * 2.0**-t.frac


def _brute_force(manifest, model, x, y):
    """Exact loss of every single flip, each made in a copy of the ONNX model and emulated from scratch."""
    losses = {}
    for node in model.graph.node:
        if node.op_type not in ("HashedLinear", "Gemm"):
            continue
        init = next(i for i in model.graph.initializer if i.name == node.input[1])
        w = numpy_helper.to_array(init)
        for j in range(w.size):
            for bit in range(T16.width):
                m = onnx.ModelProto()
                m.CopyFrom(model)
                tgt = next(i for i in m.graph.initializer if i.name == node.input[1])
                w2 = w.copy().ravel()
                w2[j] = _flip_by_text(float(w2[j]), bit, T16)
                tgt.CopyFrom(numpy_helper.from_array(w2.reshape(w.shape).astype(np.float32), tgt.name))
                losses[(node.name, j, bit)] = exact_loss(Emulator.from_model(manifest, m), x, y)
    return losses


def test_bfa_first_flip_matches_exhaustive_search():
    manifest, model, x, y = _tiny()
    store = WeightStore.from_model(manifest, model)
    brute = _brute_force(manifest, model, x, y)
    assert len(brute) == store.n_bits  # every stored bit of both layers was tried
    best = max(brute.values())
    for top_k in (1, 4):
        attack = BitFlipAttack(top_k=top_k)
        (flip,) = attack.run(store, x, y, flips=1)
        # the exact loss BFA reports is the brute-force loss of the same flip, and it is the best one
        # (hashed word index = ONNX initializer index, the dense layer's words are in the emulator's order)
        assert attack.steps[0].loss == pytest.approx(brute[(flip.layer, flip.word, flip.bit)], rel=1e-12)
        assert attack.steps[0].loss == pytest.approx(best, rel=1e-12)


def test_bfa_progresses_and_random_is_uniform_without_repeats():
    manifest, model, x, y = _tiny()
    store = WeightStore.from_model(manifest, model)
    attack = BitFlipAttack()
    flips = attack.run(store, x, y, flips=4)
    assert len(set(flips)) == 4 and attack.gradient_calls == 4
    losses = [s.loss for s in attack.steps]
    assert losses[0] > exact_loss(store.emulator(), x, y)
    assert losses == [exact_loss(store.emulator(flips[:k + 1]), x, y) for k in range(4)]
    rnd = RandomFlips(seed=1).run(store, None, None, flips=store.n_bits)
    assert len(set(rnd)) == store.n_bits  # every bit exactly once
    store.check(rnd)


def test_flipped_emulator_uses_the_flipped_word_everywhere():
    manifest, model, x, _ = _tiny()
    store = WeightStore.from_model(manifest, model)
    sl = store.layers[0]  # hashed: word 2 feeds several virtual weights
    emu = store.emulator([BitFlip(sl.name, 2, 15)])
    w_old, w_new = store.base.layers[sl.position].weight, emu.layers[sl.position].weight
    fed = (sl.index == 2).reshape(w_old.shape)
    assert fed.sum() > 1
    assert np.array_equal(w_old[~fed], w_new[~fed])
    assert np.array_equal(w_new[fed], sl.sign.reshape(w_old.shape)[fed] * flip_codes(sl.codes[2], 15, T16))
    # a flip listed twice cancels
    assert np.array_equal(store.emulator([BitFlip(sl.name, 2, 15)] * 2).predict(x), store.emulator().predict(x))


def test_flip_codes_two_complement():
    assert flip_codes(np.array([0]), 15, T16)[0] == -32768
    assert flip_codes(np.array([-1]), 15, T16)[0] == 32767
    assert flip_codes(np.array([5]), 1, T16)[0] == 7
    assert flip_codes(np.array([-3]), 0, T16)[0] == -4


def test_checksum_detects_single_flips_and_misses_cancelling_pairs():
    manifest, model, _, _ = _tiny()
    store = WeightStore.from_model(manifest, model)
    name = store.layers[1].name  # dense: 12 words
    single = detect(store, [BitFlip(name, 3, 7)], group=4)
    assert (single.flipped_groups, single.detected_groups, single.rate) == (1, 1, 1.0)
    every = [BitFlip(sl.name, w, b) for sl in store.layers for w in range(sl.n_words) for b in range(16)]
    assert all(detect(store, [f], group=4).rate == 1.0 for f in every)
    # two sign-bit flips in one group change the sum by +-2**15 each: 0 mod 2**16, undetected
    pair = detect(store, [BitFlip(name, 0, 15), BitFlip(name, 1, 15)], group=4)
    assert (pair.flipped_groups, pair.detected_groups) == (1, 0)
    spread = detect(store, [BitFlip(name, 0, 15), BitFlip(name, 5, 15)], group=4)
    assert (spread.flipped_groups, spread.detected_groups) == (2, 2)


def test_bad_input():
    manifest, model, x, y = _tiny()
    store = WeightStore.from_model(manifest, model)
    with pytest.raises(UsageError):
        make_fault_attack("rowhammer")
    for n in (0, -1, store.n_bits + 1):
        with pytest.raises(UsageError):
            BitFlipAttack().run(store, x, y, flips=n)
        with pytest.raises(UsageError):
            RandomFlips().run(store, x, y, flips=n)
    with pytest.raises(UsageError):
        store.emulator([BitFlip(store.layers[0].name, 5, 0)])  # K=5: word 5 does not exist
    with pytest.raises(UsageError):
        store.emulator([BitFlip(store.layers[0].name, 0, 16)])
    with pytest.raises(UsageError):
        store.write("somewhere", [])  # in-memory: no weight files
