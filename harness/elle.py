"""Export a history for elle-cli's ``list-append`` model (Elle's cycle search, optional).

sessionlint's own checker (:mod:`sessionlint.harness.checker`) finds the anomalies a shared
Session causes in linear time.  Elle (jepsen-io/elle, via the language-neutral front end
ligurio/elle-cli) adds what needs a dependency graph -- G0, G1c, G-single, G2 -- and needs a JVM.
This module writes our history in the shape elle-cli reads::

    java -jar elle-cli-standalone.jar --model list-append history.json
    java -jar elle-cli-standalone.jar --model list-append -c read-committed history.edn

Format (as read from elle-cli's ``src/elle_cli/cli.clj`` and its ``test/test-data`` histories):

* JSON: one array of operation objects.  elle-cli turns ``type`` and ``f`` into keywords and the
  first element of each micro-operation into a keyword, so ``["append", "k1", 5]`` becomes
  ``[:append "k1" 5]``.  EDN: one operation map per line, keywords written as such.
* Every operation is a transaction: ``f`` is ``txn`` and ``value`` a list of micro-operations.
  An append of one value is ``[["append", k, v]]``, of several values ``[["append", k, v1],
  ["append", k, v2]]`` (one transaction, in order); a read is ``[["r", k, null]]`` on the invoke
  and ``[["r", k, [1, 2, 3]]]`` on an ``ok`` completion.
* ``index`` is dense from 0 in file order; ``time`` is integer nanoseconds (Jepsen's unit);
  ``process`` is an integer; ``error`` (a string) is kept on ``fail``/``info`` completions.

Assumptions and choices, stated because no elle-cli run checks them here:

* Keys stay as they are in the history (strings such as ``"k1"`` stay JSON/EDN strings); Elle
  only compares keys for equality.
* Only ``append``, ``reject`` and ``read`` operations are exported; counters, probes and health
  checks are not list-append operations and elle-cli rejects histories that mix models.  Reads
  whose value is not a list are skipped too.
* ``reject`` completions are exported as ``fail`` whatever their HTTP answer, because the
  application always rolls them back (the same rule the checker applies).
* Jepsen retires a process after an ``info`` completion (it may still be running).  Drivers may
  reuse the worker id, so processes are renumbered: each worker gets a fresh Elle process after
  every ``info``.  Operations that never completed get an ``info`` completion at the end.
* ``final`` (the ground-truth state read after quiescence) may be appended as one ``ok`` read
  per key, by one extra process after everything else; Elle then checks those reads too.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import IO, Any

from .history import ABORT_OPS, FAIL, INFO, INVOKE, OK, READ_OPS, WRITE_OPS, Event

__all__ = ["elle_ops", "to_edn", "write_elle"]

PathOrFile = str | os.PathLike[str] | IO[str]

_KEYWORD_FIELDS = ("type", "f")


def _ns(seconds: float) -> int:
    return round(seconds * 1e9)


def _mops(event: Event) -> list[list[Any]] | None:
    """The invoke's micro-operations, or None if the operation is not a list-append one."""
    if event.f in WRITE_OPS:
        value = event.value
        if isinstance(value, bool) or value is None:
            return None
        if isinstance(value, int):
            return [["append", event.key, value]]
        return [["append", event.key, v] for v in value]
    if event.f in READ_OPS:
        return [["r", event.key, None]]
    return None


def elle_ops(events: Iterable[Event], *, final: Mapping[Any, Sequence[int]] | None = None) -> list[dict[str, Any]]:
    """The list-append operations of ``events`` as elle-cli operation dicts (see module docs)."""
    ops: list[dict[str, Any]] = []
    open_ops: dict[int, tuple[int, list[list[Any]], Event]] = {}
    process_ids: dict[Any, int] = {}
    next_process = 0
    last_time = 0.0

    def emit(type_: str, process: int, time_: float, value: list[list[Any]], error: str | None) -> None:
        op: dict[str, Any] = {"index": len(ops), "type": type_, "f": "txn", "value": value,
                              "process": process, "time": _ns(time_)}
        if error is not None and type_ != OK:
            op["error"] = error
        ops.append(op)

    for event in events:
        last_time = max(last_time, event.time)
        if event.type == INVOKE:
            mops = _mops(event)
            if mops is None:
                continue
            process = process_ids.get(event.process)
            if process is None:
                process = process_ids[event.process] = next_process
                next_process += 1
            open_ops[event.request] = (process, mops, event)
            emit(INVOKE, process, event.time, mops, None)
            continue
        started = open_ops.pop(event.request, None)
        if started is None:
            continue
        process, mops, invoked = started
        type_ = FAIL if invoked.f in ABORT_OPS else event.type
        if invoked.f in READ_OPS:
            if type_ == OK and isinstance(event.value, list):
                value = [["r", invoked.key, list(event.value)]]
            elif type_ == OK:
                # A read that returned no list cannot be expressed; call it indeterminate.
                type_, value = INFO, mops
            else:
                value = mops
        else:
            value = mops
        emit(type_, process, event.time, value, event.error)
        if type_ == INFO:
            # Jepsen: a process whose operation is indeterminate may still be running it.
            process_ids[invoked.process] = next_process
            next_process += 1

    for process, mops, invoked in open_ops.values():
        emit(INFO, process, last_time, mops, "Incomplete: no completion was recorded")

    if final:
        process = next_process
        for key, values in final.items():
            if isinstance(values, (int, bool)) or values is None:
                continue
            emit(INVOKE, process, last_time, [["r", key, None]], None)
            emit(OK, process, last_time, [["r", key, list(values)]], None)
    return ops


def _edn(obj: Any) -> str:
    if obj is None:
        return "nil"
    if obj is True:
        return "true"
    if obj is False:
        return "false"
    if isinstance(obj, (int, float)):
        return repr(obj)
    if isinstance(obj, str):
        return json.dumps(obj, ensure_ascii=False)  # EDN strings share JSON's escapes
    if isinstance(obj, (list, tuple)):
        return "[" + " ".join(_edn(item) for item in obj) + "]"
    raise TypeError(f"cannot write {type(obj).__name__} as EDN")


def to_edn(op: Mapping[str, Any]) -> str:
    """One operation as an EDN map: ``{:index 0, :type :invoke, :f :txn, :value [[:append "k" 1]], ...}``."""
    parts = []
    for field, value in op.items():
        if field in _KEYWORD_FIELDS:
            text = ":" + str(value)
        elif field == "value":
            text = "[" + " ".join(
                "[:" + str(mop[0]) + " " + " ".join(_edn(x) for x in mop[1:]) + "]" for mop in value) + "]"
        else:
            text = _edn(value)
        parts.append(f":{field} {text}")
    return "{" + ", ".join(parts) + "}"


def write_elle(events: Iterable[Event], target: PathOrFile, *, format: str | None = None,
               final: Mapping[Any, Sequence[int]] | None = None) -> int:
    """Write :func:`elle_ops` to ``target`` (a path or text file); returns the number of ops.

    ``format`` is ``"json"`` or ``"edn"``; by default it follows the path's extension (``.edn``
    means EDN, anything else JSON).
    """
    is_file = hasattr(target, "write")
    if format is None:
        format = "edn" if not is_file and os.fspath(target).endswith(".edn") else "json"  # type: ignore[arg-type]
    if format not in ("json", "edn"):
        raise ValueError(f"format must be 'json' or 'edn', not {format!r}")
    ops = elle_ops(events, final=final)
    if is_file:
        _write_ops(ops, target, format)  # type: ignore[arg-type]
    else:
        with open(os.fspath(target), "w", encoding="utf-8") as out:  # type: ignore[arg-type]
            _write_ops(ops, out, format)
    return len(ops)


def _write_ops(ops: list[dict[str, Any]], out: IO[str], format: str) -> None:
    if format == "json":
        out.write("[")
        for position, op in enumerate(ops):
            out.write(",\n " if position else "")
            out.write(json.dumps(op, separators=(",", ":")))
        out.write("]\n")
    else:
        for op in ops:
            out.write(to_edn(op))
            out.write("\n")
