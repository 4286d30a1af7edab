"""The one CLI policy, for EVERY command (issue 15): an existing output is refused unless --force; --force never
replaces a file with a directory or the reverse; -o of the wrong kind or in a missing directory is a one-line
error before any work; every file argument is checked for its kind, with a message saying what was expected.

Each case runs ``hashhls.cli.main`` in-process (what the console script calls): an exception other than a
one-line HashhlsError propagates and fails the test."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hashhls.cli.commands import COMMANDS
from hashhls.cli.main import main
from hashhls.codegen.project import BuildConfig, build
from hashhls.frontend.zoo import default_checkpoint

# command -> (argv with placeholders, kind of its -o output, a good output name)
WRITERS = {
    "train": (["train", "--model", "mnist-mlp", "--epochs", "1", "--limit", "64", "--threads", "1"], "file", "m.pt"),
    "gi": (["gi", "CKPT", "--mode", "scale", "--eps", "15"], "file", "g.pt"),
    "export": (["export", "CKPT"], "file", "m.onnx"),
    "build": (["build", "CKPT", "--no-csim", "--board", "none"], "dir", "b"),
    "csim": (["csim", "BUILD", "-i", "XNPY", "--emulator"], "file", "y.npy"),
    "attack": (["attack", "-n", "4", "--threads", "1"], "file", "a.npz"),
    "replay": (["replay", "BUILD", "ADV", "--no-progress"], "dir", "r"),
    "transfer": (["transfer", "BUILD", "-n", "4", "--threads", "1", "--no-progress"], "dir", "t"),
    "faults": (["faults", "BUILD", "--no-csim", "-n", "4", "--no-progress"], "dir", "f"),
    "sweep": (["sweep", "STUDY"], "dir", "s"),
}
#: commands that write nothing but into the build directory they are given (their logs): no -o
NO_OUTPUT = {"vivado"}

# (command, argv, placeholder replaced by a wrong thing): every file argument of every command
INPUTS = [
    ("gi", WRITERS["gi"][0], "CKPT"),
    ("export", WRITERS["export"][0], "CKPT"),
    ("build", WRITERS["build"][0], "CKPT"),
    ("csim", WRITERS["csim"][0], "BUILD"),
    ("csim", WRITERS["csim"][0], "XNPY"),
    ("attack", ["attack", "CKPT", "-n", "4"], "CKPT"),
    ("attack", ["attack", "--build", "BUILD", "-n", "4"], "BUILD"),
    ("replay", WRITERS["replay"][0], "BUILD"),
    ("replay", WRITERS["replay"][0], "ADV"),
    ("replay", [*WRITERS["replay"][0], "--dense-parent", "CKPT"], "CKPT"),
    ("transfer", WRITERS["transfer"][0], "BUILD"),
    ("transfer", [*WRITERS["transfer"][0], "--model", "CKPT"], "CKPT"),
    ("transfer", [*WRITERS["transfer"][0], "--dense-parent", "CKPT"], "CKPT"),
    ("faults", WRITERS["faults"][0], "BUILD"),
    ("sweep", WRITERS["sweep"][0], "STUDY"),
    ("vivado", ["vivado", "BUILD", "--dry-run"], "BUILD"),
    ("train", [*WRITERS["train"][0], "--data", "DATA"], "DATA"),
    ("gi", [*WRITERS["gi"][0], "--data", "DATA"], "DATA"),
    ("attack", ["attack", "-n", "4", "--data", "DATA"], "DATA"),
]


def test_the_tables_cover_every_command():
    names = {m.NAME for m in COMMANDS}
    assert set(WRITERS) | NO_OUTPUT == names
    assert {c for c, _, _ in INPUTS} | {"train"} >= names - {"train"}


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("policy")
    b = d / "build"
    build(BuildConfig(output_dir=b, board="none", compile_csim=False, progress=False))
    x = d / "x.npy"
    np.save(x, np.zeros((2, 1, 28, 28), np.float32))
    adv = d / "adv.npz"
    assert main(["attack", "-n", "4", "--no-progress", "--threads", "1", "-o", str(adv)]) == 0
    study = d / "s.toml"
    study.write_text((Path(__file__).resolve().parents[1] / "studies" / "smoke.toml").read_text())
    return {"CKPT": Path(default_checkpoint()), "BUILD": b, "XNPY": x, "ADV": adv, "STUDY": study,
            "DATA": d / "data"}


def _argv(argv: list[str], files: dict[str, Path], **override) -> list[str]:
    return [str(override.get(a, files.get(a, a))) for a in argv]


def _one_line_error(capsys, *needles) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("hashhls: error: "), err
    for n in needles:
        assert n in err, err
    return err


def _snapshot(p: Path):
    if p.is_dir():
        return sorted((q.relative_to(p).as_posix(), q.read_bytes() if q.is_file() else None) for q in p.rglob("*"))
    return p.read_bytes()


@pytest.mark.parametrize("cmd", sorted(WRITERS))
def test_an_existing_output_is_refused_without_force(cmd, files, tmp_path, capsys):
    argv, kind, name = WRITERS[cmd]
    out = tmp_path / name
    if kind == "file":
        out.write_bytes(b"a 4-minute result")
    else:
        out.mkdir()
        (out / "keep.txt").write_text("precious")
    before = _snapshot(out)
    assert main([*_argv(argv, files), "-o", str(out)]) == 2
    if cmd == "sweep":  # a results directory is resumed, never replaced: an unrelated one is refused outright
        _one_line_error(capsys, "was not written by 'hashhls sweep'")
    else:
        _one_line_error(capsys, "exists", "--force")
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # nothing else written (no partial output)


@pytest.mark.parametrize("force", [False, True])
@pytest.mark.parametrize("cmd", sorted(WRITERS))
def test_an_output_of_the_wrong_kind_is_refused_even_with_force(cmd, force, files, tmp_path, capsys):
    argv, kind, name = WRITERS[cmd]
    out = tmp_path / name
    if kind == "file":  # a directory where a file is meant
        out.mkdir()
        (out / "keep.txt").write_text("precious")
    else:  # a file where a directory is meant
        out.write_bytes(b"precious")
    before = _snapshot(out)
    assert main([*_argv(argv, files), "-o", str(out), *(["--force"] if force and cmd != "sweep" else [])]) == 2
    _one_line_error(capsys, "is a directory, expected a file" if kind == "file" else "is a file, expected a directory")
    assert _snapshot(out) == before and out.is_dir() == (kind == "file")


@pytest.mark.parametrize("cmd", sorted(WRITERS))
def test_an_output_whose_directory_cannot_exist_is_refused(cmd, files, tmp_path, capsys):
    argv, kind, name = WRITERS[cmd]
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert main([*_argv(argv, files), "-o", str(blocker / name)]) == 2
    _one_line_error(capsys)
    assert blocker.read_text() == "x" and sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


WRONG = ["directory", "wrong_kind", "missing"]


# (a missing --data directory is the dataset loader's error, tested in test_cli_train.py)
CASES = [pytest.param(c, a, s, w, id=f"{c}-{s}-{i}-{w}") for i, (c, a, s) in enumerate(INPUTS) for w in WRONG
         if not (s == "DATA" and w == "missing")]


@pytest.mark.parametrize("cmd,argv,slot,wrong", CASES)
def test_every_file_argument_is_checked_for_its_kind(cmd, argv, slot, wrong, files, tmp_path, capsys):
    if wrong == "directory":
        bad = tmp_path / ("plain-dir" if slot != "DATA" else "data")
        bad.mkdir()
        if slot == "DATA":  # --data wants a directory: hand it a file instead
            bad.rmdir()
            bad.write_text("not a directory")
    elif wrong == "wrong_kind":  # another of the project's kinds: a checkpoint where a build is meant, etc.
        bad = files["XNPY"] if slot in ("CKPT", "ADV", "STUDY", "DATA") else files["CKPT"]
        if slot == "BUILD":
            bad = files["ADV"]
    else:
        bad = tmp_path / {"CKPT": "m.pt", "XNPY": "x.npy", "ADV": "a.npz", "STUDY": "s.toml"}.get(slot, "b")
    out = tmp_path / "out"
    if cmd in WRITERS:
        out = tmp_path / WRITERS[cmd][2]
    full = _argv(argv, files, **{slot: bad}) + (["-o", str(out)] if cmd in WRITERS else [])
    assert main(full) == 2
    err = _one_line_error(capsys, str(bad))
    assert "expected" in err or "not found" in err, err
    assert not out.exists()


@pytest.mark.parametrize("cmd", ["export", "csim", "replay", "build"])
def test_names_printed_to_the_terminal_are_escaped(cmd, files, tmp_path, capsys):
    """A file name holding a terminal escape sequence reaches the terminal escaped, on one line."""
    evil = tmp_path / "\x1b[2J\x1b[31mred\nline.pt"
    argv = {"export": ["export", str(evil), "-o", str(tmp_path / "m.onnx")],
            "csim": ["csim", str(files["BUILD"]), "-i", str(evil.with_suffix(".npy")), "-o", str(tmp_path / "y.npy")],
            "replay": ["replay", str(files["BUILD"]), str(evil.with_suffix(".npz")), "-o", str(tmp_path / "r")],
            "build": ["build", str(evil), "--no-csim", "-o", str(tmp_path / "b")]}[cmd]
    assert main(argv) == 2
    err = _one_line_error(capsys, "\\x1b[2J\\x1b[31mred\\x0aline")
    assert "\x1b" not in err


@pytest.mark.parametrize("cmd", ["train", "attack", "transfer"])
def test_threads_on_every_computing_command(cmd, files, tmp_path, capsys):
    argv, _, name = WRITERS[cmd]
    i = argv.index("--threads")
    argv = argv[:i] + argv[i + 2:]
    assert main([*_argv(argv, files), "--threads", "0", "-o", str(tmp_path / name)]) == 2
    _one_line_error(capsys, "--threads must be >= 1")
    assert not (tmp_path / name).exists()
