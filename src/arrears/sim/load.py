"""``--world``: ``package.module:Name`` or ``path/to/file.py:Name``, a class constructed with no arguments."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

from arrears.problems import BadInput, Problem


def load_world(spec: str, **kwargs):
    module_name, sep, name = spec.rpartition(":")
    if not sep or not module_name or not name:
        raise BadInput([Problem(None, "--world", f"{spec!r}: expected package.module:Name or path/to/file.py:Name")])
    try:
        if module_name.endswith(".py") or "/" in module_name:
            path = Path(module_name)
            if not path.exists():
                raise BadInput([Problem(None, "--world", f"{path}: no such file")])
            loaded = importlib.util.spec_from_file_location(f"arrears_world_{path.stem}", path)
            module = importlib.util.module_from_spec(loaded)
            sys.modules[loaded.name] = module
            loaded.loader.exec_module(module)
        else:
            module = importlib.import_module(module_name)
    except ImportError as e:
        raise BadInput([Problem(None, "--world", f"{module_name}: cannot be imported ({e})")]) from None
    cls = getattr(module, name, None)
    if cls is None:
        raise BadInput([Problem(None, "--world", f"{module_name} has no {name}")])
    world = cls(**kwargs) if kwargs else cls()
    for method in ("start", "day"):
        if not callable(getattr(world, method, None)):
            raise BadInput([Problem(None, "--world", f"{spec}: a world needs a {method}() method")])
    return world
