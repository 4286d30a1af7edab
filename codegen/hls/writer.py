"""Running hls4ml's writer quietly and making what it writes deterministic."""

from __future__ import annotations

import contextlib
import io
import logging
import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import yaml

log = logging.getLogger(__name__)

CONFIG_FILE = 'hls4ml_config.yml'


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Capture hls4ml's print()s and warnings; pass them on as debug log records."""
    buf = io.StringIO()
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(buf):
        warnings.simplefilter('always')
        yield
    for line in buf.getvalue().splitlines():
        if line.strip():
            log.debug('hls4ml: %s', line)
    for w in caught:
        log.debug('hls4ml warning: %s', w.message)


def normalise_project(hls_dir: Path, hls_model, stamp: str) -> None:
    """Make the written project a pure function of the input.

    hls4ml writes a random library stamp into ``build_lib.sh`` and the config,
    and into ``hls4ml_config.yml`` a pickled ModelProto and the absolute
    (temporary) output directory. The stamp becomes a digest of the source
    model; the config is rewritten as plain YAML without the model.
    """
    if not re.fullmatch(r'[0-9a-f]{8}', stamp):
        raise ValueError(f'stamp must be 8 hex digits, got {stamp!r}')
    old = str(hls_model.config.get_config_value('Stamp'))
    build_lib = hls_dir / 'build_lib.sh'
    if build_lib.exists():
        build_lib.write_text(re.sub(r'^LIB_STAMP=.*$', f'LIB_STAMP={stamp}', build_lib.read_text(), flags=re.M))
    cfg = dict(hls_model.config.config)
    cfg['OnnxModel'] = '../model.onnx'
    cfg['OutputDir'] = '.'
    cfg['Stamp'] = stamp
    for key in ('InputData', 'OutputPredictions'):
        cfg.setdefault(key, None)
    text = yaml.safe_dump(_plain(cfg), sort_keys=True)
    (hls_dir / CONFIG_FILE).write_text(text.replace(old, stamp) if old and len(old) == 8 else text)


def _plain(x):
    """Only YAML-safe plain types (hls4ml puts numpy scalars and objects in its config)."""
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, (str, int, float, bool)) or x is None:
        return x
    if hasattr(x, 'item'):
        return x.item()
    return str(x)
