"""The method registry: every contender is one class registered here under its leaderboard name.

`METHODS` is an mmengine `Registry`; registering a name twice raises `KeyError` (mmengine refuses to
overwrite unless `force=True`, which this project never passes), so two methods can never silently
shadow each other.
"""
from mmengine.registry import Registry

METHODS = Registry('method')


def list_methods() -> list[str]:
    """Registered method names, sorted."""
    return sorted(METHODS.module_dict)


def get_method(name: str):
    """The class registered as ``name``; unknown names raise KeyError listing the valid ones."""
    cls = METHODS.get(name)
    if cls is None:
        raise KeyError(f'unknown method {name!r}; registered methods: {", ".join(list_methods())}')
    return cls
