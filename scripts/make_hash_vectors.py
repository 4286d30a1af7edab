"""Generate docs/hash-test-vectors.json from docs/hash-spec.md.

A deliberately independent transcription of the spec in plain Python
integers (no numpy, no hashhls import), so the vectors are an oracle for the
Python, ONNX and C++ implementations rather than a copy of one of them.

    python scripts/make_hash_vectors.py > docs/hash-test-vectors.json
"""

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


def main():
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
    doc = {
        "spec": "docs/hash-spec.md",
        "version": 1,
        "fmix32": [[x, fmix32(x)] for x in (0, 1, 2, 0x80000000, 0xFFFFFFFF, 0x12345678)],
        "cases": cases,
    }
    # One case per line: diffable, and still plain JSON.
    body = ",\n  ".join(json.dumps(c) for c in cases)
    head = json.dumps({k: v for k, v in doc.items() if k != "cases"})[:-1]
    print(f'{head}, "cases": [\n  {body}\n]}}')


if __name__ == "__main__":
    main()
