"""The model families mmprune supports, one registered class per file.

Every module of this package is imported here, so a new family is one new
file with a ``@MODEL_FAMILIES.register_module()`` class (plus its
configs)."""
import importlib
import pkgutil

for _info in pkgutil.iter_modules(__path__):
    importlib.import_module(f'{__name__}.{_info.name}')
