"""`[tool.sessionlint]` and friends: discovery of the config, its settings, its
errors; which files get linted (.gitignore, excludes, --force-exclude); `# noqa`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from helpers import write

BAD = (
    "from fastapi import FastAPI\n"
    "from sqlalchemy.orm import sessionmaker\n"
    "SessionLocal = sessionmaker()\n"
    "db = SessionLocal()\n"
)




def linted(out: str) -> set[str]:
    """The files with an SL001 finding in text output."""
    return {line.split(":", 1)[0] for line in out.splitlines() if ": SL001 " in line}


def pyproject(table: str) -> str:
    return f"[project]\nname = 'scratch'\n\n[tool.sessionlint]\n{table}\n"


# -- finding the config ---------------------------------------------------------------


def test_config_found_walking_up_from_linted_path(run_cli, tmp_path):
    write(tmp_path, {"pyproject.toml": pyproject('ignore = ["SL001"]'), "src/app/bad.py": BAD})
    elsewhere = tmp_path / "src" / "app"
    # lint a subdirectory (from the project root, and from inside it)
    assert run_cli("src/app", "--no-cache", cwd=tmp_path)[0] == 0
    assert run_cli(".", "--no-cache", cwd=elsewhere)[0] == 0
    assert run_cli("bad.py", "--no-cache", cwd=elsewhere)[0] == 0
    # without the table the finding is there
    write(tmp_path, {"pyproject.toml": "[project]\nname = 'scratch'\n"})
    assert run_cli("src/app", "--no-cache", cwd=tmp_path)[0] == 1


def test_config_found_from_path_not_cwd(run_cli, tmp_path):
    write(tmp_path, {"proj/pyproject.toml": pyproject('ignore = ["SL001"]'), "proj/pkg/bad.py": BAD})
    (tmp_path / "cwd").mkdir()
    assert run_cli(str(tmp_path / "proj" / "pkg"), "--no-cache", cwd=tmp_path / "cwd")[0] == 0


def test_pyproject_without_table_is_skipped(run_cli, tmp_path):
    write(tmp_path, {
        "pyproject.toml": pyproject('ignore = ["SL001"]'),
        "sub/pyproject.toml": "[project]\nname = 'inner'\n[tool.ruff]\nline-length = 100\n",
        "sub/bad.py": BAD,
    })
    assert run_cli("sub", "--no-cache", cwd=tmp_path)[0] == 0


def test_nearest_config_wins(run_cli, tmp_path):
    write(tmp_path, {
        "pyproject.toml": pyproject('ignore = ["SL001"]'),
        "sub/pyproject.toml": pyproject('select = ["SL001"]'),
        "sub/bad.py": BAD,
    })
    assert run_cli("sub", "--no-cache", cwd=tmp_path)[0] == 1


@pytest.mark.parametrize("name", ["sessionlint.toml", ".sessionlint.toml"])
def test_sessionlint_toml(run_cli, tmp_path, name):
    write(tmp_path, {name: 'ignore = ["global-session"]\n', "pkg/bad.py": BAD})
    assert run_cli("pkg", "--no-cache", cwd=tmp_path)[0] == 0


# -- settings -------------------------------------------------------------------------


def test_select(run_cli, tmp_path):
    write(tmp_path, {"pyproject.toml": pyproject('select = ["SL002", "SL003"]'), "pkg/bad.py": BAD})
    assert run_cli("pkg", "--no-cache", cwd=tmp_path)[0] == 0
    write(tmp_path, {"pyproject.toml": pyproject('select = ["SL00"]')})
    assert run_cli("pkg", "--no-cache", cwd=tmp_path)[0] == 1


def test_extend_select_and_ignore(run_cli, tmp_path):
    write(tmp_path, {
        "pyproject.toml": pyproject('select = ["SL002"]\nextend-select = ["global-session"]'),
        "pkg/bad.py": BAD,
    })
    assert run_cli("pkg", "--no-cache", cwd=tmp_path)[0] == 1
    write(tmp_path, {"pyproject.toml": pyproject('ignore = ["SL0"]')})
    assert run_cli("pkg", "--no-cache", cwd=tmp_path)[0] == 0
    # command-line --ignore adds to the configured ignore list
    write(tmp_path, {"pyproject.toml": pyproject('ignore = ["SL002"]')})
    assert run_cli("pkg", "--no-cache", "--ignore", "SL001", cwd=tmp_path)[0] == 0


def test_exclude_replaces_defaults(run_cli, tmp_path):
    write(tmp_path, {
        "pyproject.toml": pyproject('exclude = ["generated"]'),
        "generated/bad.py": BAD,
        ".venv/bad.py": BAD,
        "app/bad.py": BAD,
    })
    code, out, _ = run_cli(".", "--no-cache", cwd=tmp_path)
    assert code == 1
    assert linted(out) == {".venv/bad.py", "app/bad.py"}


def test_extend_exclude_keeps_defaults(run_cli, tmp_path):
    write(tmp_path, {
        "pyproject.toml": pyproject('extend-exclude = ["generated", "app/legacy_*.py", "/top.py"]'),
        "generated/bad.py": BAD,
        ".venv/bad.py": BAD,
        "app/bad.py": BAD,
        "app/legacy_one.py": BAD,
        "top.py": BAD,
        "app/top.py": BAD,
    })
    code, out, _ = run_cli(".", "--no-cache", cwd=tmp_path)
    assert linted(out) == {"app/bad.py", "app/top.py"}
    # patterns are relative to the config file, not to the cwd
    code, out, _ = run_cli(".", "--no-cache", cwd=tmp_path / "app")
    assert linted(out) == {"bad.py", "top.py"}


def test_exclude_and_extend_exclude_on_command_line(run_cli, tmp_path):
    write(tmp_path, {"a/bad.py": BAD, "b/bad.py": BAD, ".venv/bad.py": BAD})
    code, out, _ = run_cli(".", "--no-cache", "--extend-exclude", "a", cwd=tmp_path)
    assert linted(out) == {"b/bad.py"}
    code, out, _ = run_cli(".", "--no-cache", "--exclude", "a,b", cwd=tmp_path)
    assert linted(out) == {".venv/bad.py"}


def test_per_file_ignores(run_cli, tmp_path):
    write(tmp_path, {
        "pyproject.toml": pyproject(
            '[tool.sessionlint.per-file-ignores]\n"scripts/*" = ["SL001"]\n"conftest.py" = ["global-session"]\n'
        ),
        "scripts/bad.py": BAD,
        "tests/conftest.py": BAD,
        "app/bad.py": BAD,
    })
    code, out, _ = run_cli(".", "--no-cache", cwd=tmp_path)
    assert code == 1
    assert linted(out) == {"app/bad.py"}
    # relative to the config's directory, also when linting from elsewhere
    code, out, _ = run_cli("../scripts", "--no-cache", cwd=tmp_path / "app")
    assert code == 0


def test_respect_gitignore_setting(run_cli, tmp_path):
    write(tmp_path, {".gitignore": "ignored.py\n", "ignored.py": BAD, "kept.py": BAD})
    assert linted(run_cli(".", "--no-cache", cwd=tmp_path)[1]) == {"kept.py"}
    write(tmp_path, {"pyproject.toml": pyproject("respect-gitignore = false")})
    assert linted(run_cli(".", "--no-cache", cwd=tmp_path)[1]) == {"kept.py", "ignored.py"}


def test_max_file_size_setting(run_cli, tmp_path):
    write(tmp_path, {"pyproject.toml": pyproject("max-file-size = 50"), "pkg/bad.py": BAD})
    code, out, _ = run_cli("pkg", "--no-cache", cwd=tmp_path)
    assert code == 2 and "pkg/bad.py" in out and "max-file-size" in out


def test_output_format_setting(run_cli, tmp_path):
    import json

    write(tmp_path, {"pyproject.toml": pyproject('output-format = "json"'), "pkg/bad.py": BAD})
    code, out, _ = run_cli("pkg", "--no-cache", cwd=tmp_path)
    assert code == 1 and json.loads(out)[0]["code"] == "SL001"
    # the command line wins
    code, out, _ = run_cli("pkg", "--no-cache", "--output-format", "text", cwd=tmp_path)
    assert out.startswith("pkg/bad.py:4:6: SL001")


# -- config errors --------------------------------------------------------------------


def assert_config_error(run_cli, cwd: Path, *needles: str) -> str:
    code, out, err = run_cli(".", "--no-cache", cwd=cwd)
    assert code == 2, (out, err)
    assert out == ""
    assert err.startswith("sessionlint: error: ")
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, err
    return err


def test_broken_toml(run_cli, tmp_path):
    write(tmp_path, {"pyproject.toml": "[tool.sessionlint]\nselect = [\n", "bad.py": BAD})
    assert_config_error(run_cli, tmp_path, str(tmp_path / "pyproject.toml"), "invalid TOML")


def test_broken_toml_in_parent_directory(run_cli, tmp_path):
    write(tmp_path, {"pyproject.toml": "[tool.sessionlint\n", "sub/bad.py": BAD})
    assert_config_error(run_cli, tmp_path / "sub", str(tmp_path / "pyproject.toml"))


def test_broken_sessionlint_toml(run_cli, tmp_path):
    write(tmp_path, {"sessionlint.toml": "select = = 1\n", "bad.py": BAD})
    assert_config_error(run_cli, tmp_path, "sessionlint.toml", "invalid TOML")


def test_config_not_utf8(run_cli, tmp_path):
    (tmp_path / "pyproject.toml").write_bytes(b"[tool.sessionlint]\n# \xff\xfe\n")
    assert_config_error(run_cli, tmp_path, "pyproject.toml")


def test_unknown_key(run_cli, tmp_path):
    write(tmp_path, {"pyproject.toml": pyproject('selct = ["SL001"]'), "bad.py": BAD})
    assert_config_error(run_cli, tmp_path, "pyproject.toml", "'selct'", "unknown setting")


@pytest.mark.parametrize(
    "setting,key",
    [
        ('select = "SL001"', "select"),
        ("ignore = [1]", "ignore"),
        ("extend-select = {a = 1}", "extend-select"),
        ('exclude = "build"', "exclude"),
        ("extend-exclude = [true]", "extend-exclude"),
        ('per-file-ignores = ["a"]', "per-file-ignores"),
        ('per-file-ignores = {"x.py" = "SL001"}', "per-file-ignores"),
        ('respect-gitignore = "yes"', "respect-gitignore"),
        ("force-exclude = 1", "force-exclude"),
        ("cache-dir = 3", "cache-dir"),
        ('max-file-size = "big"', "max-file-size"),
        ("max-file-size = -1", "max-file-size"),
        ("max-file-size = true", "max-file-size"),
        ("output-format = 1", "output-format"),
        ('output-format = "xml"', "output-format"),
    ],
)
def test_wrong_types(run_cli, tmp_path, setting, key):
    write(tmp_path, {"pyproject.toml": pyproject(setting), "bad.py": BAD})
    assert_config_error(run_cli, tmp_path, "pyproject.toml", f"`{key}`")


def test_sessionlint_table_not_a_table(run_cli, tmp_path):
    write(tmp_path, {"pyproject.toml": "[tool]\nsessionlint = 1\n", "bad.py": BAD})
    assert_config_error(run_cli, tmp_path, "pyproject.toml")


def test_tool_not_a_table(run_cli, tmp_path):
    # not our table: a pyproject that isn't ours is skipped, never an internal error
    write(tmp_path, {"pyproject.toml": 'tool = "x"\n', "bad.py": BAD})
    code, out, err = run_cli(".", "--no-cache", cwd=tmp_path)
    assert code == 1 and "internal error" not in err


@pytest.mark.parametrize(
    "setting,key",
    [
        ('select = ["SL999"]', "select"),
        ('extend-select = ["bogus"]', "extend-select"),
        ('ignore = ["SL001", "nope"]', "ignore"),
        ('per-file-ignores = {"x.py" = ["SL9"]}', "per-file-ignores"),
    ],
)
def test_unknown_code_in_config(run_cli, tmp_path, setting, key):
    write(tmp_path, {"pyproject.toml": pyproject(setting), "bad.py": BAD})
    err = assert_config_error(run_cli, tmp_path, str(tmp_path / "pyproject.toml"), f"`{key}`", "unknown rule selector")
    assert len(err.strip().splitlines()) == 1


# -- .gitignore and excludes ----------------------------------------------------------


def test_gitignore_respected(run_cli, tmp_path):
    write(tmp_path, {
        ".gitignore": "# comment\nignored.py\ngen/\n*.gen.py\n!keep.gen.py\n",
        "ignored.py": BAD,
        "gen/bad.py": BAD,
        "x.gen.py": BAD,
        "keep.gen.py": BAD,
        "app/ignored.py": BAD,
        "app/ok.py": BAD,
    })
    code, out, _ = run_cli(".", "--no-cache", cwd=tmp_path)
    assert linted(out) == {"keep.gen.py", "app/ok.py"}
    code, out, _ = run_cli(".", "--no-cache", "--no-respect-gitignore", cwd=tmp_path)
    assert linted(out) == {"ignored.py", "gen/bad.py", "x.gen.py", "keep.gen.py", "app/ignored.py", "app/ok.py"}


def test_nested_gitignore(run_cli, tmp_path):
    write(tmp_path, {"app/.gitignore": "local.py\n", "app/local.py": BAD, "local.py": BAD})
    assert linted(run_cli(".", "--no-cache", cwd=tmp_path)[1]) == {"local.py"}


def test_gitignore_of_repository_applies_when_linting_a_subdirectory(run_cli, tmp_path):
    (tmp_path / ".git").mkdir()  # enough to mark the repository's top for discovery
    write(tmp_path, {".gitignore": "generated.py\n", "svc/api/generated.py": BAD, "svc/api/ok.py": BAD})
    code, out, _ = run_cli(".", "--no-cache", cwd=tmp_path / "svc" / "api")
    assert linted(out) == {"ok.py"}
    # also when the config lives in the subdirectory (a monorepo)
    write(tmp_path, {"svc/pyproject.toml": pyproject('select = ["ALL"]')})
    code, out, _ = run_cli("api", "--no-cache", cwd=tmp_path / "svc")
    assert linted(out) == {"api/ok.py"}


def test_gitignore_of_outer_repository_does_not_apply_to_nested_repository(run_cli, tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / "inner" / ".git").mkdir(parents=True)
    write(tmp_path, {".gitignore": "bad.py\n", "inner/bad.py": BAD})
    assert linted(run_cli(".", "--no-cache", cwd=tmp_path / "inner")[1]) == {"bad.py"}


def test_gitignore_real_git_repository(run_cli, tmp_path):
    git = subprocess.run(["git", "init", "-q", str(tmp_path)], capture_output=True)
    if git.returncode != 0:
        pytest.skip("git not available")
    write(tmp_path, {".gitignore": "out/\n", "out/bad.py": BAD, "src/bad.py": BAD})
    assert linted(run_cli(".", "--no-cache", cwd=tmp_path)[1]) == {"src/bad.py"}
    assert linted(run_cli(".", "--no-cache", cwd=tmp_path / "src")[1]) == {"bad.py"}


@pytest.mark.parametrize(
    "directory",
    [".venv", "venv", ".git", ".tox", "build", "dist", "node_modules", "site-packages", ".mypy_cache",
     ".sessionlint_cache", "__pypackages__", "deep/down/.venv"],
)
def test_default_excludes(run_cli, tmp_path, directory):
    write(tmp_path, {f"{directory}/lib/bad.py": BAD, "app/bad.py": BAD})
    code, out, _ = run_cli(".", "--no-cache", cwd=tmp_path)
    assert linted(out) == {"app/bad.py"}


def test_explicit_file_is_linted_even_if_excluded(run_cli, tmp_path):
    write(tmp_path, {
        "pyproject.toml": pyproject('extend-exclude = ["generated"]'),
        ".gitignore": "ignored.py\n",
        "generated/bad.py": BAD,
        ".venv/bad.py": BAD,
        "ignored.py": BAD,
    })
    for name in ("generated/bad.py", ".venv/bad.py", "ignored.py"):
        code, out, _ = run_cli(name, "--no-cache", cwd=tmp_path)
        assert (code, linted(out)) == (1, {name}), name
        code, out, _ = run_cli(name, "--no-cache", "--force-exclude", cwd=tmp_path)
        assert (code, linted(out)) == (0, set()), name


def test_force_exclude_in_config(run_cli, tmp_path):
    write(tmp_path, {"pyproject.toml": pyproject('extend-exclude = ["gen_*.py"]\nforce-exclude = true'),
                     "gen_one.py": BAD, "app.py": BAD})
    code, out, _ = run_cli("gen_one.py", "app.py", "--no-cache", cwd=tmp_path)
    assert linted(out) == {"app.py"}


def test_force_exclude_keeps_other_files(run_cli, tmp_path):
    write(tmp_path, {"build/gen.py": BAD, "app/bad.py": BAD})
    code, out, _ = run_cli("build/gen.py", "app/bad.py", "--no-cache", "--force-exclude", cwd=tmp_path)
    assert (code, linted(out)) == (1, {"app/bad.py"})


# -- noqa -----------------------------------------------------------------------------

NOQA_CASES = [
    ("# noqa: SL001", True),
    ("# noqa: global-session", True),
    ("# noqa:SL001", True),
    ("#noqa: SL001", True),
    ("# NOQA: sl001", True),
    ("# NOQA: GLOBAL-SESSION", True),
    ("# NoQa: Global-Session", True),
    ("# noqa: E501, SL001", True),
    ("# noqa: SL002,global-session", True),
    ("# noqa: SL001 -- shared on purpose", True),
    ("# noqa", False),
    ("# NOQA", False),
    ("# noqa: SL002", False),
    ("# noqa: session-not-closed", False),
    ("# noqa: SL00", False),
    ("# noqa: E501", False),
    ("# type: ignore", False),
]


@pytest.mark.parametrize("comment,suppressed", NOQA_CASES)
def test_noqa(run_cli, tmp_path, comment, suppressed):
    source = BAD.replace("db = SessionLocal()", f"db = SessionLocal()  {comment}")
    write(tmp_path, {"bad.py": source})
    code, out, _ = run_cli("bad.py", "--no-cache", cwd=tmp_path)
    assert code == (0 if suppressed else 1), out
    assert bool(linted(out)) is not suppressed


def test_noqa_only_on_its_line(run_cli, tmp_path):
    source = BAD.replace("SessionLocal = sessionmaker()", "SessionLocal = sessionmaker()  # noqa: SL001")
    write(tmp_path, {"bad.py": source})
    code, out, _ = run_cli("bad.py", "--no-cache", cwd=tmp_path)
    assert code == 1 and "bad.py:4:6: SL001" in out


def test_noqa_from_cache(run_cli, tmp_path):
    write(tmp_path, {"bad.py": BAD.replace("db = SessionLocal()", "db = SessionLocal()  # noqa: SL001")})
    assert run_cli("bad.py", cwd=tmp_path)[0] == 0
    assert run_cli("bad.py", cwd=tmp_path)[0] == 0
    write(tmp_path, {"bad.py": BAD})
    assert run_cli("bad.py", cwd=tmp_path)[0] == 1


def test_everything_ignored_warns(run_cli, tmp_path):
    """A virtualenv's own `.gitignore` (`*`) hides it even when named explicitly,
    as in git and ruff; the run says so instead of a bare "All checks passed!"."""
    (tmp_path / ".git").mkdir()
    write(tmp_path, {".venv/.gitignore": "*\n", ".venv/lib/pkg/bad.py": BAD})
    code, out, err = run_cli(".venv/lib/pkg", "--no-cache", cwd=tmp_path)
    assert code == 0 and "no Python files found" in err
    code, out, err = run_cli(".venv/lib/pkg", "--no-cache", "--no-respect-gitignore", cwd=tmp_path)
    assert code == 1 and linted(out) == {".venv/lib/pkg/bad.py"} and err == ""


def test_explicit_directory_inside_excluded_directory(run_cli, tmp_path):
    write(tmp_path, {
        "pyproject.toml": pyproject('extend-exclude = ["vendor"]'),
        "vendor/lib/bad.py": BAD,
        "vendor/lib/build/gen.py": BAD,  # a default exclude below the named directory still applies
        "build/out/bad.py": BAD,
    })
    code, out, _ = run_cli("vendor/lib", "--no-cache", cwd=tmp_path)
    assert (code, linted(out)) == (1, {"vendor/lib/bad.py"})
    code, out, _ = run_cli("build/out", "--no-cache", cwd=tmp_path)
    assert (code, linted(out)) == (1, {"build/out/bad.py"})
    code, out, _ = run_cli("vendor/lib", "build", "--no-cache", "--force-exclude", cwd=tmp_path)
    assert (code, linted(out)) == (0, set())
    code, out, _ = run_cli(".", "--no-cache", cwd=tmp_path)
    assert (code, linted(out)) == (0, set())
