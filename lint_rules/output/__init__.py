"""Report renderers: one module per `--output-format`.

Each module exposes `render(report: Report, ctx: OutputContext) -> str`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import import_module
from typing import Callable

from sessionlint.lint_rules.model import Report

FORMATS = ("text", "json", "sarif", "github", "junit")


@dataclass
class OutputContext:
    #: code -> rule class (for names, severities, help text and urls)
    rules: dict
    #: show the offending source lines under each text finding
    show_source: bool = False
    #: print `count code name` lines instead of findings (text only)
    statistics: bool = False
    #: returns a file's text for source snippets (stdin input is not on disk)
    read_source: Callable[[str], str | None] = field(default=lambda filename: None)
    #: whether to color the text output
    color: bool = False
    tool_version: str = ""
    #: fix applicabilities that `--fix` would apply now ("safe", plus "unsafe"
    #: with --unsafe-fixes): such findings are marked `[*]` in text output
    fix_applicabilities: tuple[str, ...] = ("safe",)


def render(fmt: str, report: Report, ctx: OutputContext) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown output format {fmt!r}")
    module = import_module(f"sessionlint.lint_rules.output.{fmt}_format")
    return module.render(report, ctx)
