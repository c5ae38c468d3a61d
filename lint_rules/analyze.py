"""Per-file analysis: parse → semantic model → rule candidates → facts."""

from __future__ import annotations

import re
import threading

import libcst as cst

from sessionlint.lint_rules.analysis import names as N
from sessionlint.lint_rules.ast_tree import from_ast
from sessionlint.lint_rules.analysis.module import ModuleModel, dotted
from sessionlint.lint_rules.decoding import LINE_BREAK, decode
from sessionlint.lint_rules.facts import FileFacts
from sessionlint.lint_rules.fixes.build import build_fix
from sessionlint.lint_rules.model import Candidate, FileError, Span
from sessionlint.lint_rules.positions import node_ranges
from sessionlint.lint_rules.registry import all_rules
from sessionlint.lint_rules.rule import Reporter
from sessionlint.lint_rules.screen import base_tokens
from sessionlint.lint_rules.identifier_screen import TooDeep, screen_file
from sessionlint.lint_rules.trusted_parse import parse_valid_python

# `# noqa: SL001, global-session` -- codes or rule names; a bare `# noqa` is
# deliberately NOT honoured (it would silence every tool at once).
_NOQA = re.compile(r"#\s*noqa\s*:\s*(?P<codes>[A-Za-z][\w-]*(?:\s*,\s*[A-Za-z][\w-]*)*)", re.IGNORECASE)


_NOQA_ANYWHERE = re.compile("noqa", re.IGNORECASE)

_SCREEN_TOKENS: list[frozenset[str]] = []


def screen_tokens() -> frozenset[str]:
    """Every rule's screen tokens (the text screen's base set)."""
    if not _SCREEN_TOKENS:
        _SCREEN_TOKENS.append(base_tokens(all_rules()))
    return _SCREEN_TOKENS[0]


def analyze(data: bytes, path: str, module: str, is_package: bool,
            names: frozenset[str] | None = None, exact: bool = False) -> FileFacts:
    """Analyse one file; never raises.  Runs on a large-stack thread (see
    `on_large_stack`), and any unexpected failure becomes that file's error.

    With `names` (the session names other files export, as far as the screen
    knows them), a file whose identifiers name no session thing is not parsed
    (`identifier_screen.py`), and one whose identifiers do is analysed on the
    tree built from its `ast` (`ast_tree.py`): its facts are `approximate`.
    With `names` None, or `exact`, the file is analysed on LibCST's own tree."""
    try:
        return on_large_stack(_analyze, data, path, module, is_package, names, exact)
    except Exception as exc:
        facts = FileFacts(path=path, module=module)
        facts.error = FileError(
            path, f"internal error while analysing: {type(exc).__name__}: {exc} (please report this)"
        )
        return facts


def _analyze(data: bytes, path: str, module: str, is_package: bool, names: frozenset[str] | None,
             exact: bool) -> FileFacts:
    facts = FileFacts(path=path, module=module)
    try:
        text = decode(data)
    except (UnicodeDecodeError, SyntaxError, LookupError) as exc:
        facts.error = FileError(path, f"cannot decode file: {exc}; save it as UTF-8 (or fix its coding cookie)")
        return facts
    if "\x00" in text:
        facts.error = FileError(path, "file contains a NUL byte; it is not Python source")
        return facts
    verdict = None
    if names is not None:
        try:
            verdict = screen_file(text, screen_tokens(), names)
        except TooDeep:
            facts.error = FileError(path, "file is nested too deeply to analyse (an expression or block "
                                          "thousands of levels deep); split it, or exclude the file")
            return facts
        if isinstance(verdict, frozenset):
            facts.skipped_names = verdict  # nothing here can matter (yet)
            return facts
        if verdict is not None and not exact:
            try:
                return _facts(from_ast(verdict, text), text, facts, is_package, approximate=True)
            except Exception:  # noqa: BLE001 -- anything the quick tree lacks: use LibCST's
                facts = FileFacts(path=path, module=module)
    try:
        # CPython accepted it (a verdict): LibCST need not re-validate its own tree.
        tree = parse_valid_python(text) if verdict is not None else cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        facts.error = FileError(path, f"syntax error: {exc.message}", exc.raw_line, exc.raw_column + 1)
        return facts
    except cst.CSTValidationError as exc:  # parsed, but not a valid Python tree
        facts.error = FileError(path, f"syntax error: {exc}")
        return facts
    except RecursionError:
        facts.error = FileError(path, "file is nested too deeply to parse")
        return facts
    return _facts(tree, text, facts, is_package, approximate=False)


# Approximate candidates have no position (their tree has none): the engine
# analyses the file again before it reports one.
NO_SPAN = Span(0, 0, 0, 0)


def _facts(tree: cst.Module, text: str, facts: FileFacts, is_package: bool, approximate: bool) -> FileFacts:
    """Run every rule on `tree` and collect the file's facts.  On an approximate
    tree a rule that fails raises (the caller falls back to LibCST's tree);
    on LibCST's tree the failure becomes the file's error."""
    path = facts.path
    facts.noqa = parse_noqa(text)
    model = ModuleModel(tree, path=path, module=facts.module, is_package=is_package, source=text)
    reporter = Reporter()
    for code, rule in all_rules().items():
        try:
            rule().check(model, reporter.for_rule(code))
        except RecursionError:
            if approximate:
                raise
            facts.error = FileError(path, f"{code}: file is nested too deeply to analyse")
        except Exception as exc:  # a rule bug must not take the other files down
            if approximate:
                raise
            facts.error = FileError(
                path, f"internal error in rule {code}: {type(exc).__name__}: {exc} (please report this)"
            )
    if approximate:
        # No positions and no fixes (they need LibCST's own tree); `raw.fix` is
        # never read, so no fix is built.
        facts.candidates = [
            Candidate(code, raw.message, NO_SPAN, raw.requires, raw.subject, None, raw.group, raw.companion)
            for code, raw in reporter.items
        ]
        facts.approximate = True
    elif reporter.items:
        ranges = node_ranges(tree, [raw.node for _, raw in reporter.items])
        seen = set()
        for code, raw in reporter.items:
            (row, col), (end_row, end_col) = ranges[id(raw.node)]
            span = Span(row, col + 1, end_row, end_col + 1)
            key = (code, span, raw.group, raw.companion)
            if key in seen:
                continue
            seen.add(key)
            fix = build_fix(tree, text, raw.fix) if raw.fix is not None else None
            facts.candidates.append(
                Candidate(code, raw.message, span, raw.requires, raw.subject, fix, raw.group, raw.companion)
            )
    facts.exports = model.exports()
    facts.depends_uses = _depends_uses(model, text)
    if "Annotated" in text:
        facts.annotated_aliases = _annotated_aliases(model)
    return facts


# LibCST's native parser recurses on the C stack: deeply nested or very long
# expressions (`a and a and ...` x 10 000, `lambda: ` x 5 000, thousands of
# brackets) overflow a main thread's 8 MiB stack and kill the process with
# SIGSEGV.  Analysing on a thread with a large (reserved, lazily committed) stack
# turns those crashes into successful parses; Python's recursion limit still
# applies to the rest and surfaces as a per-file error.
LARGE_STACK_BYTES = 512 * 1024 * 1024


def on_large_stack(fn, *args):
    outcome: list = []

    def target() -> None:
        try:
            outcome.append((True, fn(*args)))
        except BaseException as exc:  # re-raised on the calling thread
            outcome.append((False, exc))

    try:
        previous = threading.stack_size(LARGE_STACK_BYTES)
    except (ValueError, RuntimeError):  # platform without settable stacks
        return fn(*args)
    try:
        thread = threading.Thread(target=target, name="sessionlint-analyse", daemon=True)
        thread.start()
    except RuntimeError:  # no memory for the stack: analyse on this thread
        return fn(*args)
    finally:
        threading.stack_size(previous)
    thread.join()
    ok, value = outcome[0]
    if not ok:
        raise value
    return value


def parse_noqa(text: str) -> dict[int, frozenset[str]]:
    if _NOQA_ANYWHERE.search(text) is None:
        return {}
    out: dict[int, frozenset[str]] = {}
    for row, line in enumerate(LINE_BREAK.split(text), start=1):
        if "#" in line:
            match = _NOQA.search(line)
            if match:
                codes = frozenset(c.strip().upper() if c.strip()[:2].upper() == "SL" else c.strip().lower()
                                  for c in match.group("codes").split(","))
                out[row] = codes
    return out


def _annotated_aliases(model: ModuleModel) -> dict[str, str]:
    out = {}
    for name, value in model.top_values.items():
        if isinstance(value, cst.Subscript):
            target = model._annotated_dependency(value, 0)
            qualname = model.resolve(target) if target is not None else None
            if qualname:
                out[name] = qualname
    return out


def _alias_uses(model: ModuleModel) -> list[tuple[str, str]]:
    """Parameters annotated with an alias imported from another module: it may be
    an `Annotated[Session, Depends(get_db)]` defined there."""
    uses = []
    for func in model.functions:
        for param in func.params:
            ann = param.annotation.annotation if param.annotation else None
            if isinstance(ann, (cst.Name, cst.Attribute)):
                head = dotted(ann)
                if head and head.split(".")[0] in model.imports:
                    qualname = model.resolve(ann)
                    if qualname and qualname.split(".")[0] not in N.KNOWN_LIBRARY_ROOTS:
                        uses.append(("@" + qualname, func.name))
    return uses


def _depends_uses(model: ModuleModel, text: str) -> list[tuple[str, str]]:
    uses: list[tuple[str, str]] = _alias_uses(model) if model.imports else []
    if "Depends" not in text and "Security" not in text:
        return uses
    for func in model.functions:
        for param in func.params:
            target = model.param_dependency(param)
            qualname = model.resolve(target) if target is not None else None
            if qualname:
                uses.append((qualname, func.name))
    # Depends(...) anywhere else: `dependencies=[Depends(x)]`, router-level lists.
    for node in model.nodes_of(cst.Call):
        target = model.depends_target(node)
        qualname = model.resolve(target) if target is not None else None
        if qualname and all(q != qualname for q, _ in uses):
            uses.append((qualname, ""))
    return uses
