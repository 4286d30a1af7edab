"""Defaults shared by the CLI, the Python facade and the build flow, defined once.

Kept free of heavy imports: the CLI's argument parser reads them before anything is loaded.
"""

#: The build's default fixed-point type: hls4ml's ap_fixed<16,6> with convergent rounding and saturation
#: (hls4ml's own default truncates and wraps, which loses accuracy and hides overflow).
DEFAULT_PRECISION = "ap_fixed<16,6,AP_RND_CONV,AP_SAT>"
