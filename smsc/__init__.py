# Before any module of this package loads: compiled hot-path modules, or all from source.
from storage.native import activate as _activate_native

_activate_native()
