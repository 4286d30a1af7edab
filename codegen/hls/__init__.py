"""The hls4ml extension for hashed layers: IR classes, ONNX handlers, templates and the C++ kernel.

Call :func:`register` before converting; it is idempotent (hls4ml raises on a
second registration of the same name, so each step is guarded).
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

#: hls4ml backends the extension registers its templates and kernel with.
BACKENDS = ('Vivado', 'Vitis', 'VivadoAccelerator')

_registered = False


def register() -> None:
    """Register HashedDense, its ONNX handlers, templates and kernel header with hls4ml (once)."""
    global _registered
    if _registered:
        return
    import hls4ml
    from hls4ml.converters.onnx_to_hls import layer_handlers, register_onnx_layer_handler
    from hls4ml.model.layers import layer_map, register_layer
    from hls4ml.model.optimizer import get_backend_passes

    from .handlers import HANDLERS
    from .layers import LAYERS
    from .templates import CSIM_HEADER, KERNEL_HEADER, TEMPLATES, templates_dir

    for name, cls in LAYERS.items():
        if layer_map.get(name) is not cls:
            register_layer(name, cls)
    for op_type, fn in HANDLERS.items():
        if op_type not in layer_handlers:
            register_onnx_layer_handler(op_type, fn)
    headers = [templates_dir() / KERNEL_HEADER, templates_dir() / CSIM_HEADER]
    for backend_name in BACKENDS:
        backend = hls4ml.backends.get_backend(backend_name)
        existing = set(get_backend_passes(backend.name))
        for tmpl_cls in TEMPLATES:
            if not any(p.endswith(':' + tmpl_cls().get_name()) for p in existing):
                backend.register_template(tmpl_cls)
        for header in headers:
            backend.register_source(header)  # a dict entry keyed by destination: re-registering is harmless
    _registered = True
    log.debug('hashhls hls4ml extension registered on %s', ', '.join(BACKENDS))
