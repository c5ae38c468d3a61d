"""`sessionlint stress --app`: the session sanitizer on apps written like real projects,
their fixed twins, and the traffic/request-generation pieces."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sessionlint.harness.openapi_requests import generate, operations, parse_seed
from sessionlint.harness.request_specs import RequestsFileError, load_requests_file

APPS = Path(__file__).parent / "apps"

# app -> (extra CLI args, {primary or secondary code expected}, {file of a planted bug expected as a site})
REALISTIC = {
    "shop_buggy": (["--param", "product_id=1..5", "--param", "order_id=1..5"],
                   {"SL001", "SL005", "SL011"}, {"services/catalog.py", "deps.py", "services/reports.py"}),
    "notes_buggy": (["--param", "note_id=1..5"],
                    {"SL008", "SL010", "SL012"}, {"db.py", "routers/stats.py"}),
}
TWINS = {"shop_fixed": REALISTIC["shop_buggy"][0], "notes_fixed": REALISTIC["notes_buggy"][0]}


def _stress(app: str, args: list[str], tmp_path: Path) -> tuple[int, dict, str]:
    out = tmp_path / f"{app}.json"
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    env.pop("SHOP_DATABASE_URL", None)
    env.pop("NOTES_DATABASE_URL", None)
    process = subprocess.run(
        [sys.executable, "-m", "sessionlint", "stress", "--app", f"{app}.main:app", "--app-dir", str(APPS),
         "--requests", "120", "--concurrency", "6", "--duration", "8", "--json", str(out), *args],
        capture_output=True, text=True, timeout=180, env=env)
    data = json.loads(out.read_text()) if out.exists() else {}
    return process.returncode, data, process.stdout + process.stderr


@pytest.mark.parametrize("app", list(REALISTIC))
def test_every_planted_bug_is_found(app, tmp_path):
    args, codes, files = REALISTIC[app]
    code, data, output = _stress(app, args, tmp_path)
    assert code == 1, output
    findings = data["sanitizer"]["findings"]
    found_codes = {c for f in findings for c in f["codes"]}
    assert codes <= found_codes, output
    sites = {f["site"]["file"].replace(os.sep, "/") for f in findings}
    for name in files:
        assert any(site.endswith(f"{app}/{name}") for site in sites), (name, sites)
    assert data["requests"]["sent"] > 0 and data["latency"]["count"] > 0


@pytest.mark.parametrize("app", list(TWINS))
def test_fixed_twin_is_clean(app, tmp_path):
    code, data, output = _stress(app, TWINS[app], tmp_path)
    assert code == 0, output
    assert data["sanitizer"]["findings"] == []
    assert data["availability"] == 1.0, output
    assert "no session misuse" in output


def test_unknown_app_is_a_usage_error(tmp_path):
    process = subprocess.run([sys.executable, "-m", "sessionlint", "stress", "--app", "no_such_module_xyz:app"],
                             capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert process.returncode == 2
    assert "could not import module 'no_such_module_xyz'" in process.stderr and "--app-dir" in process.stderr


def test_nothing_to_send_is_a_usage_error(tmp_path):
    (tmp_path / "postonly.py").write_text(
        "from fastapi import FastAPI\napp = FastAPI()\n@app.post('/x')\ndef x():\n    return {}\n")
    process = subprocess.run([sys.executable, "-m", "sessionlint", "stress", "--app", "postonly:app",
                              "--app-dir", str(tmp_path), "--requests", "5"],
                             capture_output=True, text=True, timeout=120)
    assert process.returncode == 2, process.stdout + process.stderr
    assert "no requests to send" in process.stderr and "--requests-file" in process.stderr
    assert "internal error" not in process.stderr


def test_requests_file_and_methods(tmp_path, run_cli):
    (tmp_path / "tinyapp.py").write_text(
        "from fastapi import FastAPI\n"
        "from pydantic import BaseModel\n"
        "app = FastAPI()\n"
        "class In(BaseModel):\n    name: str\n"
        "seen = []\n"
        "@app.post('/things')\ndef add(item: In):\n    seen.append(item.name)\n    return {'n': len(seen)}\n"
        "@app.get('/things/{thing_id}')\ndef get(thing_id: int):\n    return {'id': thing_id}\n")
    (tmp_path / "reqs.toml").write_text('[[requests]]\nmethod = "POST"\npath = "/things"\nbody = {name = "x"}\n')
    code, out, err = run_cli("stress", "--app", "tinyapp:app", "--app-dir", str(tmp_path), "--requests", "30",
                             "--concurrency", "3", "--requests-file", str(tmp_path / "reqs.toml"),
                             "--param", "thing_id=7..9", "--json", str(tmp_path / "r.json"))
    assert code == 0, out + err
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["requests"]["sent"] == 30 and data["availability"] == 1.0
    assert set(data["operations"]) == {"GET /things/{thing_id}", "POST /things"}
    sys.modules.pop("tinyapp", None)


def test_schema_parameters_are_generated_and_seeded():
    schema = {
        "paths": {
            "/items/{item_id}": {"get": {"parameters": [
                {"name": "item_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1, "maximum": 9}},
                {"name": "q", "in": "query", "required": True, "schema": {"type": "string", "maxLength": 5}},
            ]}},
            "/users/{user_id}": {"get": {"parameters": [
                {"name": "user_id", "in": "path", "required": True, "schema": {"type": "integer"}}]}},
            "/items": {"post": {"requestBody": {"content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/In"}}}}}},
        },
        "components": {"schemas": {"In": {"type": "object", "required": ["value"],
                                          "properties": {"value": {"type": "integer", "minimum": 0}}}}},
    }
    gets = operations(schema, {"GET"})
    assert [op.label for op in gets] == ["GET /items/{item_id}", "GET /users/{user_id}"]
    name, values = parse_seed("user_id=3..5")
    pool = generate(gets, {name: values}, per_operation=20, seed=1)
    items = [spec for spec in pool if spec.template == "GET /items/{item_id}"]
    assert items and all(1 <= int(s.path.split("/")[2].split("?")[0]) <= 9 and "q=" in s.path for s in items)
    users = {s.path for s in pool if s.template == "GET /users/{user_id}"}
    assert users == {"/users/3", "/users/4", "/users/5"}
    posts = generate(operations(schema, {"POST"}), {}, per_operation=10)
    assert posts and all(isinstance(s.body["value"], int) and s.body["value"] >= 0 for s in posts)


def test_bad_requests_file_says_what_is_wrong(tmp_path):
    bad = tmp_path / "r.json"
    bad.write_text('[{"method": "GET"}]')
    with pytest.raises(RequestsFileError, match="request 1 needs a \"path\""):
        load_requests_file(str(bad))
    with pytest.raises(ValueError, match="expected NAME=LOW..HIGH"):
        parse_seed("oops")


def test_lifespan_runs_and_plain_asgi_apps_are_served_without_one():
    import anyio

    from sessionlint.harness.app_loading import lifespan

    events = []

    async def plain_app(scope, receive, send):  # knows only HTTP, like many hand-written ASGI apps
        assert scope["type"] == "http", "unsupported scope"
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def with_lifespan(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                events.append(message["type"])
                if message["type"] == "lifespan.startup":
                    scope["state"]["ready"] = True
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return

    async def main():
        async with lifespan(plain_app) as info:
            assert info.note and "does not support the ASGI lifespan protocol" in info.note
        async with lifespan(with_lifespan) as info:
            assert info.note is None and info.state == {"ready": True}
        assert events == ["lifespan.startup", "lifespan.shutdown"]

    anyio.run(main)


# Sample arms through the user-facing door: `--app <arm>.main:app`, default traffic (the
# schema's GET operations). Pairs whose bug sits on a GET route; the others need POST
# bodies the schema cannot invent meaningfully (they are covered in load mode by
# tests/test_sanitizer_sample_apps.py).
SAMPLE_GET_BUGS = {
    "shared_session": {"SL001", "SL002"},
    "leaked_session": {"SL003", "SL004", "SL005"},
    "engine_per_request": {"SL011"},
    "scoped_async": {"SL009"},
}
ASYNC_PAIRS = {"scoped_async"}  # configured with an async driver's URL, as such apps are


def _stress_sample(pair: str, arm: str, tmp_path: Path) -> tuple[int, dict, str]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    out = tmp_path / f"{pair}-{arm}.json"
    driver = "sqlite+aiosqlite" if pair in ASYNC_PAIRS else "sqlite"
    env = dict(os.environ, PYTHONWARNINGS="ignore", SESSIONLINT_DATABASE_URL=f"{driver}:///{tmp_path / 'app.db'}")
    process = subprocess.run(
        [sys.executable, "-m", "sessionlint", "stress", "--app", f"sessionlint.sample_apps.{pair}.{arm}.main:app",
         "--param", "value=1..5", "--requests", "80", "--concurrency", "6", "--duration", "8", "--json", str(out)],
        capture_output=True, text=True, timeout=180, env=env)
    data = json.loads(out.read_text()) if out.exists() else {}
    return process.returncode, data, process.stdout + process.stderr


@pytest.mark.parametrize("pair", list(SAMPLE_GET_BUGS))
def test_sample_arms_through_app(pair, tmp_path):
    code, data, output = _stress_sample(pair, "unsafe", tmp_path / "unsafe")
    assert code == 1, output
    found = {c for f in data["sanitizer"]["findings"] for c in f["codes"]}
    assert found & SAMPLE_GET_BUGS[pair], output
    code, data, output = _stress_sample(pair, "safe", tmp_path / "safe")
    assert code == 0, output
    assert data["sanitizer"]["findings"] == []


def test_failed_startup_is_a_usage_error_that_says_why(tmp_path):
    env = dict(os.environ, SESSIONLINT_DATABASE_URL=f"sqlite:///{tmp_path / 'missing-dir' / 'app.db'}")
    process = subprocess.run(
        [sys.executable, "-m", "sessionlint", "stress", "--app", "sessionlint.sample_apps.shared_session.safe.main:app",
         "--requests", "5"], capture_output=True, text=True, timeout=120, env=env)
    assert process.returncode == 2, process.stdout + process.stderr
    assert "lifespan startup failed" in process.stderr and "unable to open database file" in process.stderr
    assert "internal error" not in process.stderr


def test_html_report_of_an_app_run(tmp_path):
    from html.parser import HTMLParser

    page = tmp_path / "app.html"
    env = dict(os.environ, PYTHONWARNINGS="ignore", SESSIONLINT_DATABASE_URL=f"sqlite:///{tmp_path / 'app.db'}")
    process = subprocess.run(
        [sys.executable, "-m", "sessionlint", "stress", "--app", "sessionlint.sample_apps.shared_session.unsafe.main:app",
         "--param", "value=1..5", "--requests", "60", "--concurrency", "6", "--html", str(page)],
        capture_output=True, text=True, timeout=180, env=env)
    assert process.returncode == 1, process.stdout + process.stderr
    text = page.read_text(encoding="utf-8")

    class Collect(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tags, self.urls, self.data = [], [], []

        def handle_starttag(self, tag, attrs):
            self.tags.append(tag)
            self.urls += [value for name, value in attrs if name in ("href", "src") and value and "://" in value]

        def handle_data(self, data):
            self.data.append(data)

    parsed = Collect()
    parsed.feed(text)
    body = " ".join(parsed.data)
    assert "script" not in parsed.tags and parsed.urls == []
    assert "SL001" in body and "shared_session/unsafe/db.py:27" in body
    assert "latency of each request over time" in body
    # One dot per answered request (60 sent, all answered in-process).
    assert parsed.tags.count("circle") == 60
