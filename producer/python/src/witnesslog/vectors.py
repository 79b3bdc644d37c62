"""Embeddings to the wire form: float32 little-endian, packed. numpy arrays are cast
(or taken as they are when already float32) and checked in C; lists go through
array('f'), also in C: no Python loop over the values on the success path. A loop runs
only to name the offending index once a vector is known to be bad."""
from __future__ import annotations

import math
import sys
from array import array

from .errors import MISSING, InvalidEntryError
from .validation_table import reason, rules

_SWAP = sys.byteorder != "little"


def pack_embedding(value: object, field: str, dim: int, may_be_empty: bool) -> bytes:
    """The packed bytes of `value`, or InvalidEntryError naming the field (and index)."""
    np = sys.modules.get("numpy")  # only if the caller uses numpy: the SDK never imports it
    if np is not None and isinstance(value, np.ndarray):
        return _pack_ndarray(np, value, field, dim, may_be_empty)
    if isinstance(value, (bytes, bytearray, memoryview)):
        raise InvalidEntryError(field, value, reason("embeddingBytes"))
    if not isinstance(value, (list, tuple, array)):
        raise InvalidEntryError(field, value, _missing_or(value, reason("embeddingType")))
    _check_length(value, len(value), field, dim, may_be_empty)
    try:
        packed = value if isinstance(value, array) and value.typecode == "f" else array("f", value)
    except (TypeError, OverflowError):
        packed = None
    # The sum is finite exactly when every value is: 65,536 float32 values cannot overflow a double.
    if packed is None or not math.isfinite(sum(packed)):
        _name_bad_value(value, field)
    if _SWAP:
        packed = array("f", packed)
        packed.byteswap()
    return packed.tobytes()


def _pack_ndarray(np, value, field: str, dim: int, may_be_empty: bool) -> bytes:  # type: ignore[no-untyped-def]
    if value.ndim != 1:
        raise InvalidEntryError(field, value, reason("embeddingShape", shape=tuple(value.shape)))
    _check_length(value, value.shape[0], field, dim, may_be_empty)
    if value.dtype.kind not in "fiub":
        raise InvalidEntryError(field, value, reason("embeddingDtype", dtype=value.dtype))
    if value.dtype == np.float32:
        packed = value
    else:
        wide = value.astype(np.float64, copy=False)
        # Checked before the cast: a finite double past float32's range would become inf on the wire.
        if wide.shape[0] and not (np.isfinite(wide).all() and float(np.abs(wide).max()) <= rules.float32_max):
            _name_bad_value(wide.tolist(), field)
        packed = wide.astype(np.float32)
    if packed.shape[0] and not np.isfinite(packed).all():
        _name_bad_value(packed.tolist(), field)
    return packed.astype("<f4", copy=False).tobytes()


def _check_length(value: object, length: int, field: str, dim: int, may_be_empty: bool) -> None:
    if length != dim and not (may_be_empty and length == 0):
        raise InvalidEntryError(field, value, reason("embeddingLengthOrEmpty" if may_be_empty else "embeddingLength", dim=dim, length=length))


def _name_bad_value(values, field: str) -> None:  # type: ignore[no-untyped-def]
    for i, x in enumerate(values):
        if isinstance(x, bool) or not isinstance(x, (int, float)) and not hasattr(x, "__float__"):
            raise InvalidEntryError(f"{field}[{i}]", x, reason("number"))
        try:
            f = float(x)
        except (TypeError, ValueError, OverflowError):
            raise InvalidEntryError(f"{field}[{i}]", x, reason("number")) from None
        if not math.isfinite(f):
            raise InvalidEntryError(f"{field}[{i}]", x, reason("finite"))
        if abs(f) > rules.float32_max:
            raise InvalidEntryError(f"{field}[{i}]", x, reason("float32"))
    raise InvalidEntryError(field, values, reason("embeddingValues"))


def _missing_or(value: object, why: str) -> str:
    return reason("required") if value is MISSING else why
