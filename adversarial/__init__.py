"""The fourth stage: attacks, the fixed-point twin, crafting, replay through every implementation, reports.

Depends on :mod:`hashhls.frontend` (models) and :mod:`hashhls.codegen` (builds, emulator, csim); nothing in
those packages imports it.
"""
