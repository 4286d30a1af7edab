"""The precision guard: does the fixed-point build still compute the float model's answers?

``hashhls build`` runs the bit-exact emulator of the planned build and the float model (the ingested ONNX in
float64) on the bundled calibration images (the first 1,000 MNIST training images, as ``--precision auto``
profiles on), and reports:

* the argmax agreement of fixed vs float;
* per weighted layer, how many outputs saturated (sit at the result type's minimum or maximum code: the exact
  accumulator did not fit the result type).

Below :data:`MIN_AGREEMENT`, or when any layer saturates, it warns, naming the layer and suggesting
``--precision auto``; with ``--strict`` the warning is a :class:`PrecisionError` and nothing is written. A model
whose input is not 784 values is not checked (the calibration images are MNIST), and the summary says so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import onnx

from ..core.errors import PrecisionError
from .fixed import Overflow
from .manifest import BuildManifest
from .ops.spec import LayerSpec
from .precision import calibration_inputs, float_forward

log = logging.getLogger(__name__)

MIN_AGREEMENT = 0.99
CALIBRATION_INPUTS = 784  #: the calibration set is MNIST


@dataclass
class LayerCheck:
    name: str
    kind: str
    result_type: str
    outputs: int  #: output values over the calibration set
    saturated: int  #: of those, at the result type's limits


@dataclass
class GuardReport:
    samples: int
    agreement: float | None
    layers: list[LayerCheck] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    skipped: str | None = None  #: why the check did not run

    @property
    def ok(self) -> bool:
        return not self.warnings


def check_precision(manifest: BuildManifest, model: onnx.ModelProto, specs: list[LayerSpec],
                    strict: bool = False, calibration: np.ndarray | None = None) -> GuardReport:
    """Run the guard on a planned build (see the module docstring); PrecisionError if ``strict`` and it warns."""
    from .emulator import Emulator

    shape = [int(d) for d in manifest.input_shape]
    if calibration is None and int(np.prod(shape)) != CALIBRATION_INPUTS:
        note = (f"not checked: the calibration images are MNIST (784 values) and this model takes {shape}; check "
                "fixed vs float on your own data with hashhls.codegen.Emulator")
        log.info("precision guard %s", note)
        return GuardReport(0, None, skipped=note)
    x = calibration_inputs(shape) if calibration is None else np.asarray(calibration, dtype=np.float32)
    emu = Emulator.from_model(manifest, model)
    codes = emu.input_type.to_codes(emu.check_input(x).astype(np.float64))
    layers = []
    out = codes
    for layer, _inputs, out in emu.trace_codes(codes):
        if layer.spec.weighted:  # the op table's accumulating layers: where a narrow result type saturates
            t = layer.out_type
            sat = int(((out <= t.code_min) | (out >= t.code_max)).sum()) if t.overflow is Overflow.SAT else 0
            layers.append(LayerCheck(layer.name, str(layer.kind), t.cpp(), int(out.size), sat))
    codes = out.reshape(len(x), -1)
    float_out = float_forward(specs, x)[specs[-1].name]  # each op entry's float64 forward
    agreement = float((codes.argmax(axis=1) == float_out.argmax(axis=1)).mean())
    report = GuardReport(len(x), agreement, layers)
    worst = max(layers, key=lambda c: c.saturated, default=None)
    for c in layers:
        if c.saturated:
            report.warnings.append(f"layer {c.name!r} saturates {c.saturated:,} of {c.outputs:,} outputs at "
                                   f"{c.result_type}")
    if agreement < MIN_AGREEMENT:
        where = (f"; most saturation in layer {worst.name!r}" if worst is not None and worst.saturated else
                 "; no layer saturates (rounding of a narrow type)")
        report.warnings.insert(0, f"fixed-point and float argmax agree on only {100 * agreement:.1f}% of "
                                  f"{len(x):,} calibration images{where}")
    if report.warnings:
        msg = "precision guard: " + "; ".join(report.warnings) + ": try --precision auto"
        if strict:
            raise PrecisionError(msg + " (--strict: nothing written)")
        log.warning("warning: %s", msg)
    return report


def guard_markdown(report: GuardReport) -> str:
    """The summary's "Precision check" section."""
    lines = ["## Precision check (fixed-point emulator vs float)", ""]
    if report.skipped:
        return "\n".join(lines + [f"Precision guard {report.skipped}.", ""])
    lines += [f"On {report.samples:,} bundled calibration images (MNIST training images): fixed vs float argmax "
              f"agreement **{100 * report.agreement:.2f}%** (warns below {100 * MIN_AGREEMENT:.0f}%).", "",
              "| layer | kind | result type | saturated outputs |", "|---|---|---|---:|"]
    for c in report.layers:
        lines.append(f"| {c.name} | {c.kind} | `{c.result_type}` | {c.saturated:,} of {c.outputs:,} |")
    lines.append("")
    if report.warnings:
        lines += ["**Warning:** " + "; ".join(report.warnings) + ". Rebuild with `--precision auto` (or widen the "
                  "named layer with `--layer-precision NAME.result=TYPE`).", ""]
    else:
        lines += ["No warning: no layer saturates and the argmax agrees.", ""]
    return "\n".join(lines)


def guard_record(report: GuardReport) -> dict:
    """What the manifest keeps of the guard (``verification["precision_guard"]``)."""
    return {"samples": report.samples, "agreement": report.agreement, "warnings": list(report.warnings),
            "skipped": report.skipped}


def guard_line(record: dict) -> str:
    """One line for the summary and the build README, from :func:`guard_record`."""
    if record.get("skipped"):
        return f"Precision guard {record['skipped']}."
    head = (f"Precision guard: fixed vs float argmax agree on {100 * record['agreement']:.2f}% of "
            f"{record['samples']:,} calibration images")
    if record.get("warnings"):
        return head + "; WARNING: " + "; ".join(record["warnings"]) + " (try --precision auto)."
    return head + "; no saturation."
