"""The operations, one module each: importing this package imports every module in it, and each
registers its class (``@register``) in :data:`OPS`. A new operation is a new module here."""

import importlib
import pkgutil

from ..operation import OPS

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["OPS"]
