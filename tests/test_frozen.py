"""The boot path's frozen classes behave as frozen dataclasses (see appsec_guard/_frozen.py)."""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, Optional, Tuple

import pytest

from appsec_guard import _frozen
from appsec_guard.model import Finding, Report, Severity


def _pair() -> Tuple[Any, Any]:
    made = []
    for deco, field in (
        (dataclasses.dataclass(frozen=True), dataclasses.field),
        (_frozen.dataclass(frozen=True), _frozen.field),
    ):

        @deco
        class Row:
            name: str
            size: Optional[int]
            tags: Tuple[str, ...] = ()
            extra: Dict[str, str] = field(default_factory=dict)

        made.append(Row)
    return made[0], made[1]


def test_construction_equality_hash_and_repr_match_dataclasses() -> None:
    real, fast = _pair()
    for args, kwargs in [
        (("a", 1), {}),
        (("a",), {"size": None, "tags": ("x",)}),
        ((), {"name": "b", "size": 2, "extra": {"k": "v"}}),
        ((), {"extra": {}, "tags": ("y",), "size": 3, "name": "c"}),  # every field, any order
    ]:
        r, f = real(*args, **kwargs), fast(*args, **kwargs)
        assert repr(r) == repr(f)
        assert dataclasses.astuple(r) == dataclasses.astuple(f)
        assert f == fast(*args, **kwargs)
        assert f != real(*args, **kwargs)  # another class, as with dataclasses
    finding = Finding("AG100", Severity.ERROR, None, "m")
    assert hash(finding) == hash(dataclasses.astuple(finding))  # what dataclasses hashes
    with pytest.raises(TypeError, match="unhashable"):
        hash(fast("a", 1))  # a dict field, as with dataclasses
    assert fast("a", 1).extra is not fast("a", 1).extra  # default_factory: a new dict each time


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("a",), {}, "missing 1 required argument: 'size'"),
        (("a", 1), {"colour": 1}, "unexpected keyword argument 'colour'"),
        (("a", 1), {"name": "b"}, "multiple values for argument 'name'"),
        (("a", 1, (), {}, 5), {}, "takes 5 positional arguments but 6 were given"),
    ],
)
def test_bad_arguments_raise_type_error(args: Any, kwargs: Any, message: str) -> None:
    real, fast = _pair()
    with pytest.raises(TypeError, match=message):
        fast(*args, **kwargs)
    with pytest.raises(TypeError):
        real(*args, **kwargs)


def test_frozen_and_dataclasses_functions_work() -> None:
    finding = Finding("AG100", Severity.ERROR, None, "ddtrace is not installed")
    with pytest.raises(dataclasses.FrozenInstanceError):
        finding.id = "AG101"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del finding.message  # type: ignore[misc]
    assert dataclasses.is_dataclass(finding)
    assert [f.name for f in dataclasses.fields(Report)] == ["stack", "verdicts", "findings"]
    assert dataclasses.asdict(finding)["id"] == "AG100"
    assert dataclasses.replace(finding, id="AG101").id == "AG101"
    assert _frozen.replace(finding, message="m").message == "m"
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        _frozen.replace(finding, colour=1)
    assert Finding.__match_args__ == (
        "id",
        "severity",
        "capability",
        "message",
        "remediation",
        "source",
    )


def test_pickle_and_copy_round_trip() -> None:
    import copy
    import pickle

    from appsec_guard.matrix import load

    matrix = load()
    assert pickle.loads(pickle.dumps(matrix)) == matrix
    assert copy.deepcopy(matrix) == matrix
    finding = Finding("AG100", Severity.ERROR, None, "m")
    assert copy.copy(finding) == finding
