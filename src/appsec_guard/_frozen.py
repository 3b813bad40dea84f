"""Frozen value classes that cost next to nothing to define.

``dataclasses.dataclass`` writes each generated method (``__init__``, ``__repr__``, ``__eq__``,
``__hash__``, ``__setattr__``, ``__delattr__``) as source text and compiles it with ``exec``,
and imports ``inspect`` to write a docstring: about 0.7 ms per class on a small cloud machine,
and the guard's boot path defines two dozen of them (~17 ms of every process start, more than
the whole check). Here every class gets the same six methods, written once, each reading the
fields of its class from a small spec set on the class (~6 us per class).

The modules on the boot path import ``dataclass``, ``field`` and ``replace`` from here at run
time and from :mod:`dataclasses` when type-checking (``if TYPE_CHECKING``), so mypy checks them
as ordinary frozen dataclasses. Only what those modules use is supported: ``frozen=True``,
defaults, ``field(default=...)`` / ``field(default_factory=...)``, no inheritance between them.

The classes still behave as frozen dataclasses: keyword and positional construction with the
same errors, value equality and hashing over the fields in order, the same ``repr``,
assignment raises :class:`dataclasses.FrozenInstanceError`, and ``dataclasses.fields``,
``asdict``, ``replace`` and ``is_dataclass`` work on them (their ``Field`` objects are made,
with ``dataclasses`` imported, the first time something asks for them).
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple, TypeVar

__all__ = ["dataclass", "field", "replace"]

T = TypeVar("T")
_MISSING: Any = object()
_FIELDS = "__dataclass_fields__"


class _Field:
    __slots__ = ("default", "default_factory")

    def __init__(self, default: Any, default_factory: Any) -> None:
        self.default = default
        self.default_factory = default_factory


def field(*, default: Any = _MISSING, default_factory: Any = _MISSING) -> Any:
    """``dataclasses.field`` for the two options the guard uses."""
    if default is not _MISSING and default_factory is not _MISSING:
        raise ValueError("cannot specify both default and default_factory")
    return _Field(default, default_factory)


class _LazyFields:
    """``__dataclass_fields__``: real ``dataclasses.Field`` objects, built on first use."""

    def __init__(
        self, names: Tuple[str, ...], types: Dict[str, Any], defaults: Dict[str, Any]
    ) -> None:
        self.names, self.types, self.defaults = names, types, defaults
        self.built: Optional[Dict[str, Any]] = None

    def __get__(self, obj: Any, owner: Any = None) -> Dict[str, Any]:
        if self.built is None:
            import dataclasses

            built: Dict[str, Any] = {}
            for name in self.names:
                spec = self.defaults.get(name)
                if spec is None:
                    f = dataclasses.field()
                elif spec[1]:
                    f = dataclasses.field(default_factory=spec[0])
                else:
                    f = dataclasses.field(default=spec[0])
                f.name = name
                f.type = self.types[name]
                f._field_type = dataclasses._FIELD  # type: ignore[attr-defined]
                built[name] = f
            self.built = built
        return self.built


def _frozen_error(name: str) -> AttributeError:
    from dataclasses import FrozenInstanceError

    return FrozenInstanceError(f"cannot assign to field {name!r}")


class _Spec:
    """What the shared methods need to know of one frozen class."""

    __slots__ = ("cls", "count", "defaults", "fields", "index", "names", "post_init", "qualname")

    def __init__(self, cls: Any, names: Tuple[str, ...], defaults: Dict[str, Any]) -> None:
        self.cls, self.names, self.defaults = cls, names, defaults
        self.qualname: str = cls.__qualname__
        self.count = len(names)
        self.index = {n: i for i, n in enumerate(names)}
        self.fields = self.index.keys()
        self.post_init = getattr(cls, "__post_init__", None)


_SPEC = "__frozen_spec__"


class _Methods:
    """The methods of every frozen class, shared: each reads its class's :class:`_Spec` (a
    class of its own would need its own closures, which cost more to make than the class)."""

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        spec: _Spec = getattr(type(self), _SPEC)
        given = len(args)
        d = self.__dict__
        if given == spec.count and not kwargs:
            d.update(zip(spec.names, args))
        elif not given and kwargs.keys() == spec.fields:  # every field by name (as replace does)
            d.update(kwargs)
        else:
            _slow_init(spec, d, args, kwargs)
        if spec.post_init is not None:
            spec.post_init(self)

    def __repr__(self: Any) -> str:
        names = getattr(type(self), _SPEC).names
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in names)
        return f"{self.__class__.__qualname__}({inner})"

    def __eq__(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            names = getattr(type(self), _SPEC).names
            return tuple(getattr(self, n) for n in names) == tuple(getattr(other, n) for n in names)
        return NotImplemented

    def __hash__(self: Any) -> int:
        return hash(tuple(getattr(self, n) for n in getattr(type(self), _SPEC).names))

    def __setattr__(self: Any, name: str, value: Any) -> None:
        spec: _Spec = getattr(type(self), _SPEC)
        if type(self) is spec.cls or name in spec.index:
            raise _frozen_error(name)
        object.__setattr__(self, name, value)

    def __delattr__(self: Any, name: str) -> None:
        spec: _Spec = getattr(type(self), _SPEC)
        if type(self) is spec.cls or name in spec.index:
            raise _frozen_error(name)
        object.__delattr__(self, name)


def _slow_init(spec: _Spec, d: Dict[str, Any], args: Tuple[Any, ...], kwargs: Any) -> None:
    """``__init__`` with positional and keyword arguments mixed, or defaults to fill in."""
    given, count, qualname = len(args), spec.count, spec.qualname
    if given > count:
        raise TypeError(
            f"{qualname}.__init__() takes {count + 1} positional arguments but {given + 1} were given"
        )
    for key in kwargs:
        at = spec.index.get(key)
        if at is None:
            raise TypeError(f"{qualname}.__init__() got an unexpected keyword argument {key!r}")
        if at < given:
            raise TypeError(f"{qualname}.__init__() got multiple values for argument {key!r}")
    missing = [n for n in spec.names[given:] if n not in kwargs and n not in spec.defaults]
    if missing:
        listed = ", ".join(repr(n) for n in missing)
        raise TypeError(
            f"{qualname}.__init__() missing {len(missing)} required "
            f"argument{'s' if len(missing) > 1 else ''}: {listed}"
        )
    d.update(zip(spec.names, args))
    for name in spec.names[given:]:
        if name in kwargs:
            d[name] = kwargs[name]
        else:
            value, is_factory = spec.defaults[name]
            d[name] = value() if is_factory else value


_METHODS = {
    name: _Methods.__dict__[name]
    for name in ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__")
}


def _build(cls: Any) -> Any:
    annotations: Dict[str, Any] = cls.__dict__.get("__annotations__", {})  # noqa: RUF063 (own only)
    names = tuple(
        n for n, t in annotations.items() if not str(t).startswith(("ClassVar", "typing.ClassVar"))
    )
    defaults: Dict[str, Tuple[Any, bool]] = {}  # name -> (value or factory, is_factory)
    for name in names:
        value = cls.__dict__.get(name, _MISSING)
        if isinstance(value, _Field):
            if value.default_factory is not _MISSING:
                defaults[name] = (value.default_factory, True)
                delattr(cls, name)
                continue
            value = value.default
            if value is _MISSING:
                delattr(cls, name)
                continue
            setattr(cls, name, value)
        if value is not _MISSING:
            defaults[name] = (value, False)
        elif defaults:
            raise TypeError(f"non-default argument {name!r} follows default argument")
    setattr(cls, _SPEC, _Spec(cls, names, defaults))
    for name, fn in _METHODS.items():
        if name in ("__init__", "__repr__", "__eq__") and name in cls.__dict__:
            continue  # a class's own method wins, as with dataclasses
        setattr(cls, name, fn)
    setattr(cls, "__match_args__", names)  # noqa: B010
    setattr(cls, _FIELDS, _LazyFields(names, dict(annotations), defaults))
    return cls


def dataclass(cls: Optional[T] = None, *, frozen: bool = False) -> Any:
    """``@dataclass(frozen=True)``, built without ``exec``."""
    if not frozen:
        raise TypeError("appsec_guard._frozen.dataclass makes frozen classes only")

    def wrap(c: T) -> T:
        return _build(c)  # type: ignore[no-any-return]

    return wrap if cls is None else wrap(cls)


def replace(obj: T, **changes: Any) -> T:
    """``dataclasses.replace``: a copy of ``obj`` with ``changes``."""
    lazy = type(obj).__dict__.get(_FIELDS)
    if not isinstance(lazy, _LazyFields):  # a real dataclass (or not one at all)
        import dataclasses

        return dataclasses.replace(obj, **changes)  # type: ignore[type-var]
    values = {name: obj.__dict__[name] for name in lazy.names}
    for key in changes:
        if key not in values:
            raise TypeError(
                f"{type(obj).__qualname__}.__init__() got an unexpected keyword argument {key!r}"
            )
    values.update(changes)
    return type(obj)(**values)
