"""The harness's history model: recording, pairing, validation, JSONL and the elle-cli export."""

from __future__ import annotations

import asyncio
import io
import json
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sessionlint.harness.elle import elle_ops, to_edn, write_elle
from sessionlint.harness.history import Event, History, format_error, outcome_for


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


# -- recording ----------------------------------------------------------------------------------


def test_invoke_and_complete_record_a_jepsen_pair() -> None:
    clock = FakeClock()
    history = History(clock=clock)
    clock.now = 100.5
    request = history.invoke("append", "k1", 175, process=3)
    clock.now = 100.75
    done = history.complete(request, status=201)
    assert request == 1
    assert history.events == [
        Event("invoke", 3, 0.5, "append", key="k1", value=175, request=1),
        Event("ok", 3, 0.75, "append", key="k1", request=1, status=201, latency=0.25),
    ]
    assert done is history[-1]
    assert history.pending() == []
    assert list(history.pairs()) == [(history[0], history[1])]


@pytest.mark.parametrize(("status", "expected"), [
    (200, "ok"), (201, "ok"), (204, "ok"), (409, "fail"), (404, "fail"), (422, "fail"),
    (408, "info"), (500, "info"), (503, "info"), (None, "info"), (302, "info"),
])
def test_completion_type_follows_the_http_mapping(status, expected) -> None:
    assert outcome_for(status) == expected
    history = History()
    request = history.invoke("read", "k", process=0)
    assert history.complete(request, status=status).type == expected


def test_complete_accepts_an_explicit_type_value_and_exception() -> None:
    history = History()
    read = history.invoke("read", "k", process=0)
    event = history.complete(read, "info", error=TimeoutError("no response within 2 s"))
    assert event.type == "info" and event.error == "TimeoutError: no response within 2 s"
    assert event.status is None
    assert format_error(ValueError()) == "ValueError"
    read = history.invoke("read", "k", process=0)
    assert history.complete(read, status=200, value=[1, 2]).value == [1, 2]
    with pytest.raises(ValueError, match="ok, fail or info"):
        history.complete(history.invoke("read", "k", process=1), "invoke")


def test_a_request_completes_once_and_a_process_runs_one_op_at_a_time() -> None:
    history = History()
    request = history.invoke("read", "k", process=7)
    with pytest.raises(ValueError, match="process 7 already has request 1 in flight"):
        history.invoke("read", "k", process=7)
    history.complete(request, status=200, value=[])
    with pytest.raises(ValueError, match="not in flight"):
        history.complete(request, status=200, value=[])
    with pytest.raises(ValueError, match="not in flight"):
        history.complete(99, status=200)
    assert history.invoke("read", "k", process=7) == 2  # the process is free again


def test_pairs_yields_incomplete_ops_with_none_and_pending_lists_them() -> None:
    history = History()
    first = history.invoke("append", "k", 1, process=0)
    second = history.invoke("append", "k", 2, process=1)
    history.complete(second, status=201)
    assert history.pending() == [first]
    assert [(i.request, c and c.request) for i, c in history.pairs()] == [(1, None), (2, 2)]


def test_recording_is_thread_safe() -> None:
    history = History()
    per_thread = 400

    def worker(process: int) -> None:
        for i in range(per_thread):
            request = history.invoke("append", "k", process * per_thread + i, process=process)
            history.complete(request, status=201)

    threads = [threading.Thread(target=worker, args=(p,)) for p in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(history) == 2 * 8 * per_thread
    assert history.validate() == []
    assert sorted(i.request for i, _ in history.pairs()) == list(range(1, 8 * per_thread + 1))
    times = [e.time for e in history]
    assert times == sorted(times)  # times are taken under the lock: list order is time order


def test_recording_from_async_tasks() -> None:
    history = History()

    async def worker(process: int) -> None:
        for i in range(50):
            request = history.invoke("read", "k", process=process)
            await asyncio.sleep(0)
            history.complete(request, status=200, value=[i])

    async def main() -> None:
        await asyncio.gather(*(worker(p) for p in range(10)))

    asyncio.run(main())
    assert len(history) == 1000
    assert history.validate() == []
    assert all(c is not None and c.value is not None for _, c in history.pairs())


def test_validate_reports_structural_problems() -> None:
    events = [
        Event("invoke", 0, 0.0, "read", key="k", request=1),
        Event("invoke", 0, 0.1, "read", key="k", request=2),        # process 0 still busy
        Event("ok", 0, 0.2, "read", key="k", value=[], request=1),
        Event("ok", 0, 0.3, "read", key="k", value=[], request=1),  # completed twice
        Event("ok", 1, 0.4, "read", key="k", value=[], request=9),  # never invoked
        Event("invoke", 2, 0.5, "read", key="k", request=2),        # id reused
        Event("fail", 5, 0.05, "append", key="x", request=2),       # wrong process/f/key, before invoke
    ]
    problems = History(events).validate()
    assert any("while request 1 was still in flight" in p for p in problems)
    assert any("completed twice" in p for p in problems)
    assert any("completion without an earlier invoke" in p for p in problems)
    assert any("invoked twice" in p for p in problems)
    assert any("differ from the invoke's" in p for p in problems)
    assert any("before it was invoked" in p for p in problems)
    assert History(events).validate(limit=2)[-1].startswith("... and ")


def test_history_built_from_events_continues_request_ids() -> None:
    history = History([Event("invoke", 0, 0.0, "read", key="k", request=41)])
    assert history.invoke("read", "k", process=1) == 42
    history.append(Event("invoke", 2, 1.0, "read", key="k", request=100))
    assert history.invoke("read", "k", process=3) == 101


# -- JSONL --------------------------------------------------------------------------------------


def sample_history() -> History:
    history = History(clock=FakeClock())
    a = history.invoke("append", "k1", [3, 4], process=0)
    r = history.invoke("read", "k1", process=1)
    history.complete(r, status=200, value=[1, 2, 3])
    history.complete(a, status=500, error="OperationalError: database is locked\n[SQL: x]")
    history.invoke("health", process=2)
    return history


def test_jsonl_round_trip_through_paths_files_and_gzip(tmp_path) -> None:
    history = sample_history()
    for name in ("h.jsonl", "h.jsonl.gz"):
        history.to_jsonl(tmp_path / name)
        assert History.from_jsonl(tmp_path / name) == history
        assert History.from_jsonl(str(tmp_path / name)) == history
    buffer = io.StringIO()
    history.to_jsonl(buffer)
    lines = buffer.getvalue().splitlines()
    assert len(lines) == len(history)
    assert json.loads(lines[0]) == {"type": "invoke", "process": 0, "time": 0.0, "f": "append",
                                    "key": "k1", "value": [3, 4], "request": 1}
    assert History.from_jsonl(io.StringIO(buffer.getvalue() + "\n\n")) == history


def test_from_jsonl_names_the_bad_line(tmp_path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"type":"invoke","process":0,"time":0,"f":"read","request":1}\n'
                    '{"type":"invoke","process":0,"time":0,"f":"read"}\n')
    with pytest.raises(ValueError, match=r"bad\.jsonl:2: .*missing field 'request'"):
        History.from_jsonl(path)
    path.write_text('{"type":"done","process":0,"time":0,"f":"read","request":1}\n')
    with pytest.raises(ValueError, match=":1: .*'type' must be"):
        History.from_jsonl(path)
    path.write_text("not json\n")
    with pytest.raises(ValueError, match=":1: not a history event"):
        History.from_jsonl(path)
    path.write_text("[1, 2]\n")
    with pytest.raises(ValueError, match="expected a JSON object"):
        History.from_jsonl(path)


def test_to_jsonl_refuses_non_finite_times() -> None:
    history = History([Event("invoke", 0, float("nan"), "read", request=1)])
    with pytest.raises(ValueError):
        history.to_jsonl(io.StringIO())


finite = st.floats(allow_nan=False, allow_infinity=False)
events = st.builds(
    Event,
    st.sampled_from(["invoke", "ok", "fail", "info"]),
    st.integers(0, 64),
    finite,
    st.sampled_from(["append", "read", "reject", "increment", "deposit", "probe", "health"]),
    key=st.none() | st.text(max_size=8),
    value=st.none() | st.integers() | st.lists(st.integers(), max_size=6),
    request=st.integers(0, 10**12),
    status=st.none() | st.integers(100, 599),
    latency=st.none() | finite,
    error=st.none() | st.text(max_size=40),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(events, max_size=30))
def test_jsonl_round_trip_property(event_list) -> None:
    history = History(event_list)
    buffer = io.StringIO()
    history.to_jsonl(buffer)
    buffer.seek(0)
    assert History.from_jsonl(buffer).events == event_list


# -- elle-cli export ----------------------------------------------------------------------------


def test_elle_export_matches_elle_cli_list_append_json() -> None:
    # The shape of elle-cli's test/test-data/list-append-*.json histories.
    history = History(clock=FakeClock())
    a = history.invoke("append", "x", 1, process=0)
    history.complete(a, status=201, time=0.000002)
    r = history.invoke("read", "x", process=1, time=0.000003)
    history.complete(r, status=200, value=[1], time=0.000004)
    ops = elle_ops(history)
    assert ops == [
        {"index": 0, "type": "invoke", "f": "txn", "value": [["append", "x", 1]], "process": 0, "time": 0},
        {"index": 1, "type": "ok", "f": "txn", "value": [["append", "x", 1]], "process": 0, "time": 2000},
        {"index": 2, "type": "invoke", "f": "txn", "value": [["r", "x", None]], "process": 1, "time": 3000},
        {"index": 3, "type": "ok", "f": "txn", "value": [["r", "x", [1]]], "process": 1, "time": 4000},
    ]
    buffer = io.StringIO()
    assert history.to_elle(buffer) == 4
    assert json.loads(buffer.getvalue()) == ops


def test_elle_export_rules() -> None:
    events = [
        Event("invoke", 0, 0.0, "append", key="k", value=[1, 2], request=1),
        Event("invoke", 1, 0.0, "reject", key="k", value=3, request=2),
        Event("invoke", 2, 0.0, "increment", key="c", request=3),      # not list-append: skipped
        Event("ok", 2, 0.1, "increment", key="c", request=3),
        Event("info", 0, 0.2, "append", key="k", request=1, status=500, error="IllegalStateChangeError: x"),
        Event("info", 1, 0.3, "reject", key="k", request=2, status=500),  # reject -> fail
        Event("invoke", 0, 0.4, "read", key="k", request=4),           # process 0 retired after info
        Event("ok", 0, 0.5, "read", key="k", value=[1, 2], request=4),
        Event("invoke", 1, 0.6, "read", key="k", request=5),           # never completes
    ]
    ops = elle_ops(events, final={"k": [1, 2], "c": 5})
    assert [op["index"] for op in ops] == list(range(len(ops)))
    assert ops[0]["value"] == [["append", "k", 1], ["append", "k", 2]]
    assert (ops[2]["type"], ops[2]["error"]) == ("info", "IllegalStateChangeError: x")
    assert ops[3]["type"] == "fail" and ops[3]["value"] == [["append", "k", 3]]
    assert ops[4]["process"] not in (0, 1) and ops[4]["value"] == [["r", "k", None]]
    assert ops[5]["process"] == ops[4]["process"] and ops[5]["value"] == [["r", "k", [1, 2]]]
    assert ops[6]["process"] == ops[1]["process"]  # exported as fail: that process is not retired
    assert ops[7]["type"] == "info" and "Incomplete" in ops[7]["error"]   # synthesised completion
    assert [op["type"] for op in ops[8:]] == ["invoke", "ok"]             # the final read of "k" only
    assert ops[9]["value"] == [["r", "k", [1, 2]]]
    assert all(op["f"] == "txn" for op in ops)


def test_elle_edn_output(tmp_path) -> None:
    events = [Event("invoke", 0, 0.5, "read", key="k\"1", request=1),
              Event("fail", 0, 1.0, "read", key="k\"1", request=1, status=404, error="NotFound: no")]
    path = tmp_path / "history.edn"
    assert write_elle(events, path) == 2
    lines = path.read_text().splitlines()
    assert lines == [
        '{:index 0, :type :invoke, :f :txn, :value [[:r "k\\"1" nil]], :process 0, :time 500000000}',
        ('{:index 1, :type :fail, :f :txn, :value [[:r "k\\"1" nil]], :process 0, :time 1000000000, '
         ':error "NotFound: no"}'),
    ]
    assert to_edn({"type": "ok", "f": "txn", "value": [["r", 1, [1, 2]]]}) == "{:type :ok, :f :txn, :value [[:r 1 [1 2]]]}"
    with pytest.raises(ValueError, match="format"):
        write_elle(events, tmp_path / "x.json", format="xml")
    write_elle(events, tmp_path / "x.json")
    assert json.loads((tmp_path / "x.json").read_text())[1]["type"] == "fail"
