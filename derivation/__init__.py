"""derivation: machine-check a mathematical derivation step by step with SymPy."""

__version__ = "0.1.0"
