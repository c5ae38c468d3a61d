"""Requests generated from an app's OpenAPI schema, with Hypothesis strategies.

For each operation of the chosen methods (GET by default) the path and query
parameters (and, for methods with a JSON body, the body) get a Hypothesis
strategy derived from their JSON schema; `generate` draws a fixed pool of
examples per operation through ``@given`` (seeded, no example database), which
the traffic then cycles through. ``--param id=1..50`` replaces a parameter's
strategy with seeds (an integer range or a comma-separated list): generated ids
rarely exist in a user's database, seeded ones do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from .request_specs import RequestSpec

BODY_METHODS = {"POST", "PUT", "PATCH"}
_PATH_PARAM = re.compile(r"\{([^}]+)\}")


@dataclass
class Operation:
    method: str
    path: str  # template, e.g. /items/{item_id}
    path_params: dict[str, dict] = field(default_factory=dict)  # name -> schema
    query_params: dict[str, tuple[dict, bool]] = field(default_factory=dict)  # name -> (schema, required)
    body: dict | None = None  # JSON schema of the request body (resolved), or None

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


class SchemaError(ValueError):
    pass


def operations(schema: dict, methods: set[str]) -> list[Operation]:
    """The operations of `schema` whose method is in `methods` (upper case)."""
    found = []
    for path, item in (schema.get("paths") or {}).items():
        shared = item.get("parameters") or []
        for method, spec in item.items():
            if method.upper() not in methods or not isinstance(spec, dict):
                continue
            op = Operation(method.upper(), path)
            for param in shared + (spec.get("parameters") or []):
                param = _resolve(schema, param)
                where, name = param.get("in"), param.get("name")
                param_schema = _resolve(schema, param.get("schema") or {})
                if where == "path":
                    op.path_params[name] = param_schema
                elif where == "query":
                    op.query_params[name] = (param_schema, bool(param.get("required")))
            for name in _PATH_PARAM.findall(path):
                op.path_params.setdefault(name, {"type": "string"})
            if op.method in BODY_METHODS:
                content = ((spec.get("requestBody") or {}).get("content") or {}).get("application/json")
                if content is not None:
                    op.body = _resolve(schema, content.get("schema") or {})
            found.append(op)
    return found


def parse_seed(text: str) -> tuple[str, list[Any]]:
    """``id=1..50`` -> ("id", [1, ..., 50]); ``slug=a,b`` -> ("slug", ["a", "b"])."""
    name, sep, values = text.partition("=")
    if not sep or not name or not values:
        raise ValueError(f"--param {text!r}: expected NAME=LOW..HIGH or NAME=V1,V2,...")
    match = re.fullmatch(r"(-?\d+)\.\.(-?\d+)", values.strip())
    if match:
        low, high = int(match[1]), int(match[2])
        if high < low:
            raise ValueError(f"--param {text!r}: empty range")
        return name.strip(), list(range(low, high + 1))
    return name.strip(), [_scalar(v.strip()) for v in values.split(",") if v.strip()]


def generate(ops: list[Operation], seeds: dict[str, list[Any]], per_operation: int = 30, seed: int = 0) -> list[RequestSpec]:
    """A pool of concrete requests: up to `per_operation` distinct ones per operation."""
    import hypothesis
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st

    pool: list[RequestSpec] = []
    for op in ops:
        parts = {
            "path": st.fixed_dictionaries({n: _param_strategy(n, s, seeds, path=True) for n, s in op.path_params.items()}),
            "query": st.fixed_dictionaries(
                {n: _param_strategy(n, s, seeds) for n, (s, required) in op.query_params.items() if required or n in seeds},
                optional={n: _param_strategy(n, s, seeds) for n, (s, required) in op.query_params.items()
                          if not required and n not in seeds}),
            "body": _schema_strategy(op.body) if op.body is not None else st.none(),
        }
        drawn: list[RequestSpec] = []

        @hypothesis.seed(seed)
        @settings(max_examples=per_operation, database=None, phases=[Phase.generate], deadline=None,
                  suppress_health_check=list(HealthCheck))
        @given(st.fixed_dictionaries(parts))
        def collect(example):
            path = op.path
            for name, value in example["path"].items():
                path = path.replace("{" + name + "}", quote(str(value), safe=""))
            query = {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in example["query"].items()}
            if query:
                path += "?" + urlencode(query)
            spec = RequestSpec(op.method, path, example["body"], template=op.label)
            if spec not in drawn:
                drawn.append(spec)

        collect()
        pool.extend(drawn)
    return pool


def _param_strategy(name: str, schema: dict, seeds: dict[str, list[Any]], path: bool = False):
    from hypothesis import strategies as st

    if name in seeds:
        return st.sampled_from(seeds[name])
    strategy = _schema_strategy(schema, url_safe=True)
    if path:  # an empty path segment changes the route: never generate one
        strategy = strategy.filter(lambda v: str(v) != "")
    return strategy


def _schema_strategy(schema: dict, url_safe: bool = False, depth: int = 0):
    """A Hypothesis strategy for (the common subset of) a JSON schema."""
    from hypothesis import strategies as st

    if depth > 4:
        return st.none()
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "const" in schema:
        return st.just(schema["const"])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return st.one_of([_schema_strategy(s, url_safe, depth + 1) for s in options])
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return _schema_strategy(schema["allOf"][0], url_safe, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "integer":
        low = schema.get("minimum", 0 if url_safe else -1000)
        high = schema.get("maximum", low + 1000)
        if "exclusiveMinimum" in schema:
            low = schema["exclusiveMinimum"] + 1
        if "exclusiveMaximum" in schema:
            high = schema["exclusiveMaximum"] - 1
        return st.integers(min_value=low, max_value=max(low, high))
    if kind == "number":
        low = schema.get("minimum", 0.0 if url_safe else -1000.0)
        return st.floats(min_value=low, max_value=schema.get("maximum", low + 1000.0), allow_nan=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        items = _schema_strategy(schema.get("items") or {}, url_safe, depth + 1)
        return st.lists(items, min_size=schema.get("minItems", 0), max_size=min(schema.get("maxItems", 3), 3))
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties") or {}
        required = set(schema.get("required") or ())
        return st.fixed_dictionaries(
            {n: _schema_strategy(s, False, depth + 1) for n, s in properties.items() if n in required},
            optional={n: _schema_strategy(s, False, depth + 1) for n, s in properties.items() if n not in required})
    # strings (and anything unknown): short, printable, safe in a URL
    min_size = schema.get("minLength", 1 if url_safe else 0)
    max_size = max(min_size, min(schema.get("maxLength", 12), 12))
    alphabet = st.characters(min_codepoint=48, max_codepoint=122, categories=("Lu", "Ll", "Nd"))
    return st.text(alphabet=alphabet, min_size=min_size, max_size=max_size)


def _resolve(schema: dict, node: dict, depth: int = 0) -> dict:
    """Inline ``$ref``s (local ones: ``#/components/...``), recursively, up to a small depth."""
    if not isinstance(node, dict) or depth > 6:
        return node if isinstance(node, dict) else {}
    if "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            raise SchemaError(f"only local $ref are supported, got {ref!r}")
        target: Any = schema
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return _resolve(schema, target, depth + 1)
    out = {}
    for key, value in node.items():
        if isinstance(value, dict):
            out[key] = _resolve(schema, value, depth + 1)
        elif isinstance(value, list):
            out[key] = [_resolve(schema, v, depth + 1) if isinstance(v, dict) else v for v in value]
        else:
            out[key] = value
    return out


def _scalar(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        return text
