"""derivation: machine-check a mathematical derivation step by step with SymPy.

The Python API (derivation.api) is imported on first use, so that `import derivation` and the command line stay
as fast as they were: derivation.verify("glorot") returns a Report (in Jupyter: the chain, ✓/✗ per step).
derivation.verify and derivation.render are also the package's modules of those names; calling either calls the
API function, so `import derivation.verify as engine` keeps working.
"""

__version__ = "0.1.0"

import sys as _sys

_ModuleType = type(_sys)
_API = frozenset(("Assumption", "Derivation", "DerivationError", "Report", "Result", "Step", "load", "loads", "source"))
__all__ = sorted(_API | {"render", "verify"})


def __getattr__(name):
    if name in _API:
        from . import api
        return getattr(api, name)
    if name in _CALLABLE:
        import importlib
        return importlib.import_module(f"{__name__}.{name}")      # made callable as it is set on the package
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))


class _VerifyModule(_ModuleType):
    def __call__(self, derivation="glorot", activation=None, slope=None, *, refute=True):
        """derivation.api.verify: verify a derivation step by step and return a Report."""
        from .api import verify
        return verify(derivation, activation, slope, refute=refute)


class _RenderModule(_ModuleType):
    def __call__(self, derivation, format="html", out=None, *, allow_unverified=False, **options):
        """derivation.api.render: the verified derivation as a document (text, or a file written to ``out``)."""
        from .api import render
        return render(derivation, format, out, allow_unverified=allow_unverified, **options)


_CALLABLE = {"verify": _VerifyModule, "render": _RenderModule}


class _Package(_ModuleType):
    def __setattr__(self, name, value):      # the import system sets submodules here: make these two callable
        if name in _CALLABLE and type(value) is _ModuleType:
            value.__class__ = _CALLABLE[name]
        super().__setattr__(name, value)


_sys.modules[__name__].__class__ = _Package
