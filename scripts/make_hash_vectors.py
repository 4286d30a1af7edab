"""Generate the hash test vectors from docs/hash-spec.md (version 1 or 2).

A deliberately independent transcription of the spec in plain Python
integers (no numpy, no hashhls import), so the vectors are an oracle for the
Python, ONNX and C++ implementations rather than a copy of one of them.

    python scripts/make_hash_vectors.py > docs/hash-test-vectors.json
    python scripts/make_hash_vectors.py --version 2 > docs/hash-test-vectors-v2.json
"""

import argparse
import json
import random

M32 = 0xFFFFFFFF


def fmix32(h):
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & M32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & M32
    h ^= h >> 16
    return h


def key(seed):
    return fmix32(seed ^ 0x9E3779B9)


def bucket_sign(f, seed, k):
    h = fmix32(f ^ key(seed))
    return ((h >> 1) * k) >> 31, 1 - 2 * (h & 1)


def prod(shape):
    n = 1
    for s in shape:
        n *= s
    return n


CASES = [
    # (seed, shape, K)
    (0, (4, 5), 1),
    (0, (4, 5), 20),
    (1, (10, 12), 17),
    (42, (10, 12), 120),
    (2**32 - 1, (3, 7), 5),
    (0xDEADBEEF, (6, 1, 5, 5), 19),
    (7, (2, 3, 3, 3), 54),
    (1, (300, 784), 29400),
    (2, (100, 300), 3750),
    (3, (10, 100), 125),
    (3, (10, 100), 1000),
    (12345, (300, 784), 3675),
    (9, (16, 6, 5, 5), 300),
    (2**31, (1000, 1000), 999_983),
    (5, (300, 784), 235200),
]


# -- version 2 (blocked) --------------------------------------------------------------------------------

SHIFTS_V2 = [(7, 6), (9, 3), (4, 5), (7, 9)]  # sixteenths of the width W, per round: (add shift, xor shift)


def width_v2(n):
    return max(8, (n - 1).bit_length() + 2)


def shifts_v2(w):
    return [(min(w - 1, max(1, (w * a + 8) // 16)), min(w - 1, max(1, (w * b + 8) // 16))) for a, b in SHIFTS_V2]


def round_keys_v2(seed, w):
    return [fmix32((key(seed) + j * 0x9E3779B9) & M32) & ((1 << w) - 1) for j in range(4)]


def mix_v2(x, w, keys):
    mask = (1 << w) - 1
    for k, (a, b) in zip(keys, shifts_v2(w)):
        x ^= k
        x = (x + (x << a)) & mask
        x ^= x >> b
    return x


def bucket_sign_v2(f, shape, seed, k, p):
    n = prod(shape)
    m = n // shape[0]  # fan-in: inputs per output
    w = width_v2(n)
    h = mix_v2(f, w, round_keys_v2(seed, w))
    bank = (f % m) % p
    b = k // p  # HLS block partition: P-1 banks of floor(K/P), the last one holds the rest
    size = b if bank < p - 1 else k - (p - 1) * b
    return bank * b + (((h >> 1) * size) >> (w - 1)), 1 - 2 * (h & 1)


CASES_V2 = [
    # (seed, shape, K, P)
    (0, (4, 5), 1, 1),                 # K = P = 1
    (0, (4, 5), 20, 1),                # K = N*M, P = 1
    (0, (4, 5), 5, 5),                 # K = P = fan-in
    (1, (10, 12), 17, 3),              # P does not divide the fan-in nor K
    (42, (10, 12), 120, 12),           # K = N*M, P = fan-in
    (2**32 - 1, (3, 7), 5, 2),
    (0xDEADBEEF, (6, 1, 5, 5), 19, 5),  # LeNet-5 conv1 at 1/8
    (7, (2, 3, 3, 3), 54, 27),         # K = N*M, P = fan-in, convolution
    (1, (300, 784), 29400, 32),        # the bundled MLP's first layer at 1/8
    (2, (100, 300), 3750, 8),
    (3, (10, 100), 125, 2),
    (3, (10, 100), 1000, 7),           # K = N*M
    (12345, (300, 784), 3675, 49),
    (9, (16, 6, 5, 5), 300, 5),
    (2**31, (1000, 1000), 999_983, 64),
    (5, (300, 784), 235200, 1),        # K = N*M, one bank
    (11, (300, 784), 29400, 29400 // 300),
    (13, (32768, 32768), 2**27, 1024),  # n = 2^30: the widest mixer, W = 32
]


def v2_cases(rng):
    cases = []
    for seed, shape, k, p in CASES_V2:
        n = prod(shape)
        if n <= 256:
            idx = list(range(n))
        else:
            idx = sorted(set(list(range(8)) + list(range(n - 8, n)) + [rng.randrange(n) for _ in range(48)]))
        w = width_v2(n)
        bs = [bucket_sign_v2(f, shape, seed, k, p) for f in idx]
        cases.append({
            "seed": seed, "shape": list(shape), "buckets": k, "banks": p, "width": w,
            "round_keys": round_keys_v2(seed, w), "shifts": shifts_v2(w), "bank_size": k // p,
            "index": idx, "bucket": [b for b, _ in bs], "sign": [s for _, s in bs],
        })
    return cases


def dump(doc):
    # One case per line: diffable, and still plain JSON.
    body = ",\n  ".join(json.dumps(c) for c in doc["cases"])
    head = json.dumps({k: v for k, v in doc.items() if k != "cases"})[:-1]
    print(f'{head}, "cases": [\n  {body}\n]}}')


def main():
    ap = argparse.ArgumentParser(description="hash test vectors from docs/hash-spec.md")
    ap.add_argument("--version", type=int, choices=(1, 2), default=1)
    args = ap.parse_args()
    if args.version == 2:
        rng = random.Random(20261125)
        dump({"spec": "docs/hash-spec.md", "version": 2,
              "mix": [[w, s, x, mix_v2(x, w, round_keys_v2(s, w))]
                      for w, s, x in ((8, 0, 0), (8, 0, 255), (20, 1, 12345), (20, 1, 0), (32, 7, 2**32 - 1))],
              "cases": v2_cases(rng)})
        return
    rng = random.Random(20261124)
    cases = []
    for seed, shape, k in CASES:
        n = prod(shape)
        if n <= 256:
            idx = list(range(n))
        else:
            idx = sorted(set(list(range(8)) + list(range(n - 8, n)) + [rng.randrange(n) for _ in range(48)]))
        bs = [bucket_sign(f, seed, k) for f in idx]
        cases.append({
            "seed": seed, "shape": list(shape), "buckets": k, "key": key(seed),
            "index": idx, "bucket": [b for b, _ in bs], "sign": [s for _, s in bs],
        })
    dump({
        "spec": "docs/hash-spec.md",
        "version": 1,
        "fmix32": [[x, fmix32(x)] for x in (0, 1, 2, 0x80000000, 0xFFFFFFFF, 0x12345678)],
        "cases": cases,
    })


if __name__ == "__main__":
    main()
