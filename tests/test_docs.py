"""Rule documentation: every docstring has ruff's sections, `sessionlint rule`
prints every rule, docs/rules/ is generated and fresh, and findings link to it."""

from __future__ import annotations

import ast
import json
import re
import shutil
from pathlib import Path

import pytest

from sessionlint.lint_rules import docs
from sessionlint.lint_rules.registry import all_rules
from sessionlint.lint_rules.rule import DOCS_URL

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "rules"
RULES = all_rules()
CODES = sorted(RULES)
FENCE = re.compile(r"```python\n(.*?)```", re.S)


def test_committed_docs_are_fresh():
    problems = docs.check(DOCS)
    assert not problems, (
        "docs/rules/ is out of date with the rule docstrings:\n  "
        + "\n  ".join(str(p) for p in problems)
        + f"\nRegenerate with: {docs.REGENERATE}"
    )


def test_committed_rule_catalog_is_fresh_and_used():
    """lint_rules/catalog.py (what a run that imports no rule knows of them) is
    regenerated with the docs, and a run without a cache reads it."""
    from sessionlint.lint_rules import registry

    assert docs.catalog_is_fresh(), f"lint_rules/catalog.py is stale; regenerate with: {docs.REGENERATE}"
    expected = {code: registry.RuleInfo.of(rule) for code, rule in RULES.items()}
    assert registry._committed_catalog() == expected


def test_an_edited_rule_makes_the_committed_catalog_unused(monkeypatch):
    from sessionlint.lint_rules import registry

    monkeypatch.setattr(registry, "rule_sources_digest", lambda: "edited")
    assert registry._committed_catalog() is None
    assert registry.rule_catalog(None) == {code: registry.RuleInfo.of(rule) for code, rule in RULES.items()}


def test_check_flags_stale_missing_and_extra(tmp_path):
    expected = docs.generate()
    out = tmp_path / "rules"
    assert {p.kind for p in docs.check(out, expected)} == {"missing"}
    written = docs.write(out, expected)
    assert len(written) == len(expected)
    assert docs.check(out, expected) == []
    assert docs.write(out, expected) == []  # idempotent: nothing to rewrite

    first = CODES[0]
    (out / f"{first}.md").write_text("edited by hand\n")
    (out / "SL999.md").write_text("# a rule that was removed\n")
    (out / "notes.txt").write_text("not ours\n")
    (out / INDEX_NAME).unlink()
    got = {(p.name, p.kind) for p in docs.check(out, expected)}
    assert got == {(f"{first}.md", "stale"), ("SL999.md", "extra"), (INDEX_NAME, "missing")}

    docs.write(out, expected)
    assert not (out / "SL999.md").exists()
    assert (out / "notes.txt").exists()  # files the generator does not own stay
    assert docs.check(out, expected) == []


INDEX_NAME = docs.INDEX


def test_main_check_exit_status(tmp_path, capsys):
    out = tmp_path / "rules"
    assert docs.main(["--check", "--output-dir", str(out)]) == 1
    text = capsys.readouterr().out
    assert "is missing" in text and "make docs" in text
    assert docs.main(["--output-dir", str(out)]) == 0
    assert docs.main(["--check", "--output-dir", str(out)]) == 0
    (out / "SL999.md").write_text("old\n")
    assert docs.main(["--check", "--output-dir", str(out)]) == 1
    assert "SL999.md documents a rule that no longer exists" in capsys.readouterr().out


def test_generation_is_deterministic():
    assert docs.generate() == docs.generate()


def test_pages_have_title_metadata_and_docstring():
    generated = docs.generate()
    assert set(generated) == {f"{code}.md" for code in CODES} | {docs.INDEX}
    for code in CODES:
        rule = RULES[code]
        text = generated[f"{code}.md"]
        lines = text.splitlines()
        assert lines[0] == f"# {rule.name} ({code})"
        assert lines[2].startswith(f"**Severity:** {rule.severity.value} · **Default:** ")
        assert rule.doc().strip() in text
    index = generated[docs.INDEX]
    for code in CODES:
        rule = RULES[code]
        row = next(line for line in index.splitlines() if line.startswith(f"| [{code}]({code}.md) |"))
        assert f"| {rule.name} | {rule.severity.value} |" in row
        assert docs.summary(rule.doc()).replace("|", "\\|") in row


@pytest.mark.parametrize("code", CODES)
def test_fix_safety_section_agrees_with_the_autofix(code):
    """The page's autofix (read from the rule's source: the `FixSpec`s it builds)
    and the docstring's *Fix safety* section tell the same story."""
    rule = RULES[code]
    info = docs.fix_info(rule)
    if not info.known:
        pytest.skip(f"{code}: the autofix could not be read from the source")
    text = " ".join(docs.sections(rule.doc()).get("Fix safety", "").split())
    if not info.applicabilities:
        assert re.search(r"\b(no automatic fix|planned)\b", text, re.I), (
            f"{code} offers no fix; its Fix safety section should say so: {text[:120]!r}"
        )
        return
    assert not text.lower().startswith("no automatic fix"), f"{code} builds fixes, but Fix safety says: {text[:120]!r}"
    for kind in info.applicabilities - {None}:
        assert re.search(rf"\b{kind}\b", text, re.I), f"{code} has {kind} fixes; Fix safety never says {kind!r}"


@pytest.mark.parametrize("code", CODES)
def test_docstring_has_ruffs_sections(code):
    doc = RULES[code].doc()
    found = docs.sections(doc)
    titles = [t for t in found if t in docs.SECTIONS]
    assert titles == list(docs.SECTIONS), f"{code}: sections {list(found)}, want {list(docs.SECTIONS)} in this order"
    for title in docs.SECTIONS:
        assert found[title].strip(), f"{code}: section {title!r} is empty"
    for title in ("Example", "Use instead"):
        blocks = FENCE.findall(found[title])
        assert blocks, f"{code}: {title!r} needs a ```python block"
        for block in blocks:
            try:
                ast.parse(block)
            except SyntaxError as exc:
                pytest.fail(f"{code}: {title!r} example does not parse: {exc}")
    assert docs.summary(doc), f"{code}: 'What it does' has no first paragraph"


@pytest.mark.parametrize("code", CODES)
def test_rule_command_prints_the_rule(run_cli, code):
    rule = RULES[code]
    status, out, err = run_cli("rule", code)
    assert status == 0, err
    assert out.startswith(f"# {rule.name} ({code})")
    assert "## What it does" in out and "## Fix safety" in out
    status, out_by_name, err = run_cli("rule", rule.name)
    assert status == 0, err
    assert out_by_name == out
    status, out, err = run_cli("rule", code, "--output-format", "json")
    assert status == 0, err
    payload = json.loads(out)
    assert payload["code"] == code and payload["url"] == rule.url()


def test_rule_all_text_and_json(run_cli):
    status, out, err = run_cli("rule", "--all")
    assert status == 0, err
    for code in CODES:
        assert f"# {RULES[code].name} ({code})" in out
    status, out, err = run_cli("rule", "--all", "--output-format", "json")
    assert status == 0, err
    payload = json.loads(out)
    assert [item["code"] for item in payload] == CODES
    for item in payload:
        rule = RULES[item["code"]]
        assert item["name"] == rule.name
        assert item["severity"] == rule.severity.value
        assert item["default"] == rule.default
        assert item["explanation"] == rule.doc()
        assert item["url"] == rule.url()


@pytest.mark.parametrize("code", CODES)
def test_rule_url_points_at_its_committed_page(code):
    url = RULES[code].url()
    assert url == DOCS_URL.format(code=code)
    prefix = "https://github.com/sessionlint/sessionlint/blob/main/"
    assert url.startswith(prefix)
    assert (ROOT / url[len(prefix):]).is_file(), f"{url} names a page that docs/rules/ lacks; run `make docs`"


def test_finding_urls_point_at_pages(tmp_path, run_cli):
    """The `url` of real findings (JSON output) names an existing page: the
    smallest fixture file of each rule, linted together."""
    fixtures = ROOT / "tests" / "fixtures" / "rules"
    smallest: dict[str, Path] = {}
    for path in sorted(fixtures.glob("SL*.py")):
        code = path.stem.split("_")[0]
        if code not in smallest or path.stat().st_size < smallest[code].stat().st_size:
            smallest[code] = path
    work = tmp_path / "src"
    work.mkdir()
    for path in smallest.values():
        shutil.copy(path, work / path.name)
    status, out, err = run_cli("check", "--no-cache", "--output-format", "json", str(work))
    assert status in (1, 2), err
    findings = json.loads(out)
    assert findings
    prefix = "https://github.com/sessionlint/sessionlint/blob/main/"
    for finding in findings:
        url = finding["url"]
        assert url == DOCS_URL.format(code=finding["code"])
        assert (ROOT / url[len(prefix):]).is_file(), url
