"""Defaults shared by the CLI, the Python facade and the build flow, defined once.

Kept free of heavy imports: the CLI's argument parser reads them before anything is loaded.
"""

#: The build's default fixed-point type: hls4ml's ap_fixed<16,6> with convergent rounding and saturation
#: (hls4ml's own default truncates and wraps, which loses accuracy and hides overflow).
DEFAULT_PRECISION = "ap_fixed<16,6,AP_RND_CONV,AP_SAT>"

#: Hash versions this hashhls implements (docs/hash-spec.md).
HASH_VERSIONS = (1, 2)
#: What a layer, config or ONNX node without a version means (everything written before version 2 existed).
DEFAULT_HASH_VERSION = 1
#: What ``hashhls train`` gives a new hashed model unless told otherwise: the bundled models' version, whose banks
#: give the hardware kernel one lane each.
TRAIN_HASH_VERSION = 2
