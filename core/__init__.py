"""What every hashhls package shares: the error hierarchy, atomic output and the version.

It imports nothing else of hashhls, so every package (frontend -> codegen ->
adversarial -> cli) may depend on it without a cycle.
"""
