"""LibCST trees built from CPython's `ast`, for analysis only.

LibCST's parser is most of a cold run: it builds a node for every space, comma,
comment and parenthesis, about nine times the work of `ast.parse`.  The rules
only look at statements and expressions (`analysis/walk.py` skips the rest), and
the identifier screen has already parsed the file with `ast`.  So this module
turns that `ast` tree into the LibCST node classes the rules know, filling the
fields the rules read (names, values, arguments, bodies, operators, `async`) and
none of the formatting ones.  Objects are made with `object.__new__` and their
slots set directly: no dataclass `__init__`, no validation.

Such a tree is good for *deciding*: which candidates a file has, under which
requirements, and what it exports.  It cannot print code, so it has no
positions and no fixes.  `analyze.py` runs the rules on it without building
fixes, marks the facts `approximate`, and the engine analyses a file again on
LibCST's own tree when one of its candidates is about to be reported
(`engine._exact_again`).  Anything this module does not know (a newer grammar,
a field a rule reads that is not filled) raises, and the file is analysed on
LibCST's tree at once.  `tests/test_ast_tree.py` checks that both trees give
the same facts and candidates.
"""

from __future__ import annotations

import ast

import libcst as cst

from sessionlint.lint_rules.decoding import LINE_BREAK

_new = object.__new__


class Unsupported(Exception):
    """An `ast` node this module does not translate."""


def _constructor(cls: type, *names: str):
    """A fast positional constructor that sets only `names` on a `cls` object.

    Generated, because one call with plain positional arguments is what makes
    building half a million nodes cheap (a generic loop over a dict is ~3x slower)."""
    params = ", ".join(names)
    body = "".join(f"    _s(o, {name!r}, {name})\n" for name in names)
    # The helpers' names start with "_" so that no field name (`cls`!) shadows them.
    source = f"def make({params}):\n    o = _new(_cls)\n{body}    return o\n"
    namespace = {"_new": _new, "_s": object.__setattr__, "_cls": cls}
    exec(source, namespace)  # noqa: S102 (our own text, built from field names)
    return namespace["make"]


# One constructor per LibCST class: the fields the walk visits (its non-formatting
# fields) plus the few non-node fields rules read (`asynchronous`, `operator`,
# `star`, `relative`).
Module = _constructor(cst.Module, "body", "encoding", "default_indent", "default_newline", "has_trailing_newline")
SimpleStatementLine = _constructor(cst.SimpleStatementLine, "body")
SimpleStatementSuite = _constructor(cst.SimpleStatementSuite, "body")
IndentedBlock = _constructor(cst.IndentedBlock, "body")
Expr = _constructor(cst.Expr, "value")
Assign = _constructor(cst.Assign, "targets", "value")
AssignTarget = _constructor(cst.AssignTarget, "target")
AnnAssign = _constructor(cst.AnnAssign, "target", "annotation", "value")
Annotation = _constructor(cst.Annotation, "annotation")
AugAssign = _constructor(cst.AugAssign, "target", "value", "operator")
Return = _constructor(cst.Return, "value")
Raise = _constructor(cst.Raise, "exc", "cause")
Assert = _constructor(cst.Assert, "test", "msg")
Import = _constructor(cst.Import, "names")
ImportFrom = _constructor(cst.ImportFrom, "module", "names", "relative")
ImportAlias = _constructor(cst.ImportAlias, "name", "asname")
AsName = _constructor(cst.AsName, "name")
Global = _constructor(cst.Global, "names")
Nonlocal = _constructor(cst.Nonlocal, "names")
NameItem = _constructor(cst.NameItem, "name")
Del = _constructor(cst.Del, "target")
FunctionDef = _constructor(cst.FunctionDef, "name", "params", "body", "decorators", "returns", "type_parameters",
                           "asynchronous")
Parameters = _constructor(cst.Parameters, "params", "star_arg", "kwonly_params", "star_kwarg", "posonly_params",
                          "posonly_ind")
Param = _constructor(cst.Param, "name", "annotation", "default", "star")
Decorator = _constructor(cst.Decorator, "decorator")
ClassDef = _constructor(cst.ClassDef, "name", "body", "bases", "keywords", "decorators", "type_parameters")
If = _constructor(cst.If, "test", "body", "orelse")
Else = _constructor(cst.Else, "body")
For = _constructor(cst.For, "target", "iter", "body", "orelse", "asynchronous")
While = _constructor(cst.While, "test", "body", "orelse")
Try = _constructor(cst.Try, "body", "handlers", "orelse", "finalbody")
TryStar = _constructor(cst.TryStar, "body", "handlers", "orelse", "finalbody")
ExceptHandler = _constructor(cst.ExceptHandler, "body", "type", "name")
ExceptStarHandler = _constructor(cst.ExceptStarHandler, "body", "type", "name")
Finally = _constructor(cst.Finally, "body")
With = _constructor(cst.With, "items", "body", "asynchronous")
WithItem = _constructor(cst.WithItem, "item", "asname")
Match = _constructor(cst.Match, "subject", "cases")
MatchCase = _constructor(cst.MatchCase, "pattern", "body", "guard")
MatchAs = _constructor(cst.MatchAs, "pattern", "name")
MatchValue = _constructor(cst.MatchValue, "value")
MatchSingleton = _constructor(cst.MatchSingleton, "value")
MatchList = _constructor(cst.MatchList, "patterns")
MatchSequenceElement = _constructor(cst.MatchSequenceElement, "value")
MatchStar = _constructor(cst.MatchStar, "name")
MatchMapping = _constructor(cst.MatchMapping, "elements", "rest")
MatchMappingElement = _constructor(cst.MatchMappingElement, "key", "pattern")
MatchClass = _constructor(cst.MatchClass, "cls", "patterns", "kwds")
MatchKeywordElement = _constructor(cst.MatchKeywordElement, "key", "pattern")
MatchOr = _constructor(cst.MatchOr, "patterns")
MatchOrElement = _constructor(cst.MatchOrElement, "pattern")
TypeAlias = _constructor(cst.TypeAlias, "name", "value", "type_parameters")
Name = _constructor(cst.Name, "value")
Attribute = _constructor(cst.Attribute, "value", "attr")
Call = _constructor(cst.Call, "func", "args")
Arg = _constructor(cst.Arg, "value", "keyword", "star")
Await = _constructor(cst.Await, "expression")
Yield = _constructor(cst.Yield, "value")
From = _constructor(cst.From, "item")
BinaryOperation = _constructor(cst.BinaryOperation, "left", "right", "operator")
BooleanOperation = _constructor(cst.BooleanOperation, "left", "right", "operator")
UnaryOperation = _constructor(cst.UnaryOperation, "expression", "operator")
Comparison = _constructor(cst.Comparison, "left", "comparisons")
ComparisonTarget = _constructor(cst.ComparisonTarget, "comparator", "operator")
IfExp = _constructor(cst.IfExp, "test", "body", "orelse")
Lambda = _constructor(cst.Lambda, "params", "body")
NamedExpr = _constructor(cst.NamedExpr, "target", "value")
Subscript = _constructor(cst.Subscript, "value", "slice")
SubscriptElement = _constructor(cst.SubscriptElement, "slice")
Index = _constructor(cst.Index, "value", "star")
Slice = _constructor(cst.Slice, "lower", "upper", "step")
Tuple = _constructor(cst.Tuple, "elements")
List = _constructor(cst.List, "elements")
Set = _constructor(cst.Set, "elements")
Element = _constructor(cst.Element, "value")
StarredElement = _constructor(cst.StarredElement, "value")
Dict = _constructor(cst.Dict, "elements")
DictElement = _constructor(cst.DictElement, "key", "value")
StarredDictElement = _constructor(cst.StarredDictElement, "value")
ListComp = _constructor(cst.ListComp, "elt", "for_in")
SetComp = _constructor(cst.SetComp, "elt", "for_in")
GeneratorExp = _constructor(cst.GeneratorExp, "elt", "for_in")
DictComp = _constructor(cst.DictComp, "key", "value", "for_in")
CompFor = _constructor(cst.CompFor, "target", "iter", "ifs", "inner_for_in", "asynchronous")
CompIf = _constructor(cst.CompIf, "test")
SimpleString = _constructor(cst.SimpleString, "value")
FormattedString = _constructor(cst.FormattedString, "parts", "start", "end")
FormattedStringText = _constructor(cst.FormattedStringText, "value")
FormattedStringExpression = _constructor(cst.FormattedStringExpression, "expression", "conversion", "format_spec")
Integer = _constructor(cst.Integer, "value")
Float = _constructor(cst.Float, "value")
Imaginary = _constructor(cst.Imaginary, "value")
Ellipsis = _constructor(cst.Ellipsis)
Pass = _constructor(cst.Pass)
Break = _constructor(cst.Break)
Continue = _constructor(cst.Continue)
ImportStar = _constructor(cst.ImportStar)
ParamStar = _constructor(cst.ParamStar)
ParamSlash = _constructor(cst.ParamSlash)
Dot = _constructor(cst.Dot)

# Leaf tokens, shared: nothing reads anything from them but their class.
_ASYNC = cst.Asynchronous()
_DOT = Dot()
_NO = cst.MaybeSentinel.DEFAULT

_BINARY = {
    ast.Add: cst.Add(), ast.Sub: cst.Subtract(), ast.Mult: cst.Multiply(), ast.MatMult: cst.MatrixMultiply(),
    ast.Div: cst.Divide(), ast.Mod: cst.Modulo(), ast.Pow: cst.Power(), ast.LShift: cst.LeftShift(),
    ast.RShift: cst.RightShift(), ast.BitOr: cst.BitOr(), ast.BitXor: cst.BitXor(), ast.BitAnd: cst.BitAnd(),
    ast.FloorDiv: cst.FloorDivide(),
}
_AUGMENTED = {
    ast.Add: cst.AddAssign(), ast.Sub: cst.SubtractAssign(), ast.Mult: cst.MultiplyAssign(),
    ast.MatMult: cst.MatrixMultiplyAssign(), ast.Div: cst.DivideAssign(), ast.Mod: cst.ModuloAssign(),
    ast.Pow: cst.PowerAssign(), ast.LShift: cst.LeftShiftAssign(), ast.RShift: cst.RightShiftAssign(),
    ast.BitOr: cst.BitOrAssign(), ast.BitXor: cst.BitXorAssign(), ast.BitAnd: cst.BitAndAssign(),
    ast.FloorDiv: cst.FloorDivideAssign(),
}
_BOOLEAN = {ast.And: cst.And(), ast.Or: cst.Or()}
_UNARY = {ast.Invert: cst.BitInvert(), ast.Not: cst.Not(), ast.UAdd: cst.Plus(), ast.USub: cst.Minus()}
_COMPARE = {
    ast.Eq: cst.Equal(), ast.NotEq: cst.NotEqual(), ast.Lt: cst.LessThan(), ast.LtE: cst.LessThanEqual(),
    ast.Gt: cst.GreaterThan(), ast.GtE: cst.GreaterThanEqual(), ast.Is: cst.Is(), ast.IsNot: cst.IsNot(),
    ast.In: cst.In(), ast.NotIn: cst.NotIn(),
}
_CONVERSIONS = {-1: None, 115: "s", 114: "r", 97: "a"}


def from_ast(tree: ast.Module, text: str) -> cst.Module:
    """The LibCST module for `text`, built from its `ast` (see the module docstring)."""
    return _Builder(text).module(tree)


class _Builder:
    def __init__(self, text: str):
        self.text = text
        self._lines: list[str] | None = None
        self.expressions = {
            ast.Name: self.name, ast.Constant: self.constant, ast.Attribute: self.attribute, ast.Call: self.call,
            ast.Await: self.await_, ast.Yield: self.yield_, ast.YieldFrom: self.yield_from,
            ast.BinOp: self.binary, ast.BoolOp: self.boolean, ast.UnaryOp: self.unary,
            ast.Compare: self.compare, ast.IfExp: self.if_exp, ast.Lambda: self.lambda_,
            ast.NamedExpr: self.named, ast.Subscript: self.subscript, ast.Slice: self.slice_,
            ast.Tuple: self.tuple_, ast.List: self.list_, ast.Set: self.set_, ast.Dict: self.dict_,
            ast.Starred: self.starred, ast.ListComp: self.list_comp, ast.SetComp: self.set_comp,
            ast.GeneratorExp: self.generator, ast.DictComp: self.dict_comp, ast.JoinedStr: self.joined,
            ast.FormattedValue: self.formatted,
        }
        self.statements = {
            ast.Expr: self.expr_stmt, ast.Assign: self.assign, ast.AnnAssign: self.ann_assign,
            ast.AugAssign: self.aug_assign, ast.Return: self.return_, ast.Raise: self.raise_,
            ast.Assert: self.assert_, ast.Delete: self.delete, ast.Pass: lambda node: Pass(),
            ast.Break: lambda node: Break(), ast.Continue: lambda node: Continue(),
            ast.Global: self.global_, ast.Nonlocal: self.nonlocal_, ast.Import: self.import_,
            ast.ImportFrom: self.import_from, ast.FunctionDef: self.function, ast.AsyncFunctionDef: self.function,
            ast.ClassDef: self.class_, ast.If: self.if_, ast.For: self.for_, ast.AsyncFor: self.for_,
            ast.While: self.while_, ast.Try: self.try_, ast.With: self.with_, ast.AsyncWith: self.with_,
            ast.Match: self.match,
        }
        if hasattr(ast, "TryStar"):
            self.statements[ast.TryStar] = self.try_star
        if hasattr(ast, "TypeAlias"):
            self.statements[ast.TypeAlias] = self.type_alias

    # ------------------------------------------------------------- statements
    def module(self, tree: ast.Module) -> cst.Module:
        return Module(self.body(tree.body), "utf-8", "    ", "\n", True)

    def body(self, statements: list[ast.stmt]) -> list[cst.CSTNode]:
        """Statements as LibCST groups them: small statements that share a line
        (`a = 1; b = 2`) in one `SimpleStatementLine`, compound ones alone."""
        out: list[cst.CSTNode] = []
        line: list | None = None
        last_row = -1
        convert = self.statements
        for statement in statements:
            handler = convert.get(type(statement))
            if handler is None:
                raise Unsupported(type(statement).__name__)
            node = handler(statement)
            if isinstance(statement, _COMPOUND):
                out.append(node)
                line = None
            elif line is not None and statement.lineno == last_row:
                line.append(node)
                last_row = statement.end_lineno
            else:
                line = [node]
                out.append(SimpleStatementLine(line))
                last_row = statement.end_lineno
        return out

    def block(self, statements: list[ast.stmt]):
        """A compound statement's body: an `IndentedBlock`, or a
        `SimpleStatementSuite` when it follows the colon on the same line."""
        first = statements[0]
        if self._after_code(first.lineno, first.col_offset):
            return SimpleStatementSuite([self.statements[type(s)](s) for s in statements])
        return IndentedBlock(self.body(statements))

    def _after_code(self, row: int, column: int) -> bool:
        """Does something other than indentation precede (row, byte column)?"""
        if self._lines is None:
            self._lines = LINE_BREAK.split(self.text)
        line = self._lines[row - 1]
        if not line.isascii():
            line = line.encode("utf-8")[:column].decode("utf-8", "replace")
            return line.strip() != ""
        return line[:column].strip() != ""

    def else_(self, statements: list[ast.stmt]):
        return Else(self.block(statements)) if statements else None

    def expr_stmt(self, node: ast.Expr):
        return Expr(self.expr(node.value))

    def assign(self, node: ast.Assign):
        return Assign([AssignTarget(self.expr(t)) for t in node.targets], self.expr(node.value))

    def ann_assign(self, node: ast.AnnAssign):
        value = self.expr(node.value) if node.value is not None else None
        return AnnAssign(self.expr(node.target), Annotation(self.expr(node.annotation)), value)

    def aug_assign(self, node: ast.AugAssign):
        return AugAssign(self.expr(node.target), self.expr(node.value), _AUGMENTED[type(node.op)])

    def return_(self, node: ast.Return):
        return Return(self.optional(node.value))

    def raise_(self, node: ast.Raise):
        cause = From(self.expr(node.cause)) if node.cause is not None else None
        return Raise(self.optional(node.exc), cause)

    def assert_(self, node: ast.Assert):
        return Assert(self.expr(node.test), self.optional(node.msg))

    def delete(self, node: ast.Delete):
        targets = [self.expr(t) for t in node.targets]
        return Del(targets[0] if len(targets) == 1 else Tuple([Element(t) for t in targets]))

    def global_(self, node: ast.Global):
        return Global([NameItem(Name(n)) for n in node.names])

    def nonlocal_(self, node: ast.Nonlocal):
        return Nonlocal([NameItem(Name(n)) for n in node.names])

    def import_(self, node: ast.Import):
        return Import([self.alias(a) for a in node.names])

    def import_from(self, node: ast.ImportFrom):
        if len(node.names) == 1 and node.names[0].name == "*":
            names = ImportStar()
        else:
            names = [self.alias(a) for a in node.names]
        module = _dotted(node.module) if node.module else None
        return ImportFrom(module, names, [_DOT] * (node.level or 0))

    def alias(self, node: ast.alias):
        return ImportAlias(_dotted(node.name), AsName(Name(node.asname)) if node.asname else None)

    def function(self, node: ast.FunctionDef | ast.AsyncFunctionDef):
        returns = Annotation(self.expr(node.returns)) if node.returns is not None else None
        return FunctionDef(
            Name(node.name), self.parameters(node.args), self.block(node.body),
            [Decorator(self.expr(d)) for d in node.decorator_list], returns, None,
            _ASYNC if type(node) is ast.AsyncFunctionDef else None,
        )

    def class_(self, node: ast.ClassDef):
        bases = [self.argument(b) for b in node.bases]
        keywords = [self.keyword(k) for k in node.keywords]
        return ClassDef(Name(node.name), self.block(node.body), bases, keywords,
                        [Decorator(self.expr(d)) for d in node.decorator_list], None)

    def if_(self, node: ast.If):
        orelse = node.orelse
        if len(orelse) == 1 and type(orelse[0]) is ast.If and orelse[0].col_offset == node.col_offset \
                and not self._after_code(orelse[0].lineno, orelse[0].col_offset):
            tail = self.if_(orelse[0])  # `elif`: an `else:` holding an `if` is indented further
        else:
            tail = self.else_(orelse)
        return If(self.expr(node.test), self.block(node.body), tail)

    def for_(self, node: ast.For | ast.AsyncFor):
        return For(self.expr(node.target), self.expr(node.iter), self.block(node.body), self.else_(node.orelse),
                   _ASYNC if type(node) is ast.AsyncFor else None)

    def while_(self, node: ast.While):
        return While(self.expr(node.test), self.block(node.body), self.else_(node.orelse))

    def try_(self, node: ast.Try):
        handlers = [ExceptHandler(self.block(h.body), self.optional(h.type), AsName(Name(h.name)) if h.name else None)
                    for h in node.handlers]
        return Try(self.block(node.body), handlers, self.else_(node.orelse), self.finally_(node.finalbody))

    def try_star(self, node):
        handlers = [ExceptStarHandler(self.block(h.body), self.optional(h.type),
                                      AsName(Name(h.name)) if h.name else None) for h in node.handlers]
        return TryStar(self.block(node.body), handlers, self.else_(node.orelse), self.finally_(node.finalbody))

    def finally_(self, statements: list[ast.stmt]):
        return Finally(self.block(statements)) if statements else None

    def with_(self, node: ast.With | ast.AsyncWith):
        items = [WithItem(self.expr(i.context_expr),
                          AsName(self.expr(i.optional_vars)) if i.optional_vars is not None else None)
                 for i in node.items]
        return With(items, self.block(node.body), _ASYNC if type(node) is ast.AsyncWith else None)

    def match(self, node: ast.Match):
        cases = [MatchCase(self.pattern(c.pattern), self.block(c.body), self.optional(c.guard)) for c in node.cases]
        return Match(self.expr(node.subject), cases)

    def type_alias(self, node):
        return TypeAlias(self.expr(node.name), self.expr(node.value), None)

    # --------------------------------------------------------------- patterns
    def pattern(self, node: ast.pattern):
        kind = type(node)
        if kind is ast.MatchValue:
            return MatchValue(self.expr(node.value))
        if kind is ast.MatchSingleton:
            return MatchSingleton(Name(repr(node.value)))
        if kind is ast.MatchSequence:
            return MatchList([p if type(p) is cst.MatchStar else MatchSequenceElement(p)
                              for p in map(self.pattern, node.patterns)])
        if kind is ast.MatchStar:
            return MatchStar(Name(node.name) if node.name else None)
        if kind is ast.MatchMapping:
            elements = [MatchMappingElement(self.expr(k), self.pattern(p)) for k, p in zip(node.keys, node.patterns)]
            return MatchMapping(elements, Name(node.rest) if node.rest else None)
        if kind is ast.MatchClass:
            kwds = [MatchKeywordElement(Name(k), self.pattern(p)) for k, p in zip(node.kwd_attrs, node.kwd_patterns)]
            return MatchClass(self.expr(node.cls), [MatchSequenceElement(self.pattern(p)) for p in node.patterns], kwds)
        if kind is ast.MatchAs:
            pattern = self.pattern(node.pattern) if node.pattern is not None else None
            return MatchAs(pattern, Name(node.name) if node.name else None)
        if kind is ast.MatchOr:
            return MatchOr([MatchOrElement(self.pattern(p)) for p in node.patterns])
        raise Unsupported(kind.__name__)

    # ------------------------------------------------------------ expressions
    def expr(self, node: ast.expr):
        handler = self.expressions.get(type(node))
        if handler is None:
            raise Unsupported(type(node).__name__)
        return handler(node)

    def optional(self, node: ast.expr | None):
        return self.expr(node) if node is not None else None

    def name(self, node: ast.Name):
        return Name(node.id)

    def constant(self, node: ast.Constant):
        value = node.value
        kind = type(value)
        if kind is str or kind is bytes:
            return SimpleString(repr(value))
        if value is None or kind is bool:
            return Name(repr(value))  # LibCST spells True, False and None as names
        if kind is int:
            return Integer(repr(value))
        if kind is float:
            return Float(repr(value))
        if kind is complex:
            return Imaginary(repr(value))
        if value is ...:
            return Ellipsis()
        raise Unsupported(f"constant {kind.__name__}")

    def attribute(self, node: ast.Attribute):
        return Attribute(self.expr(node.value), Name(node.attr))

    def call(self, node: ast.Call):
        args = [self.argument(a) for a in node.args]
        if node.keywords:
            keywords = [self.keyword(k) for k in node.keywords]
            if node.args and _position(node.keywords[0]) < _position(node.args[-1]):
                # `f(a, *b, c=1, *d)`: LibCST keeps the arguments in source order.
                pairs = sorted(zip([*node.args, *node.keywords], [*args, *keywords]), key=lambda p: _position(p[0]))
                args = [converted for _, converted in pairs]
            else:
                args.extend(keywords)
        return Call(self.expr(node.func), args)

    def argument(self, node: ast.expr):
        if type(node) is ast.Starred:
            return Arg(self.expr(node.value), None, "*")
        return Arg(self.expr(node), None, "")

    def keyword(self, node: ast.keyword):
        if node.arg is None:
            return Arg(self.expr(node.value), None, "**")
        return Arg(self.expr(node.value), Name(node.arg), "")

    def await_(self, node: ast.Await):
        return Await(self.expr(node.value))

    def yield_(self, node: ast.Yield):
        return Yield(self.optional(node.value))

    def yield_from(self, node: ast.YieldFrom):
        return Yield(From(self.expr(node.value)))

    def binary(self, node: ast.BinOp):
        return BinaryOperation(self.expr(node.left), self.expr(node.right), _BINARY[type(node.op)])

    def boolean(self, node: ast.BoolOp):
        operator = _BOOLEAN[type(node.op)]
        values = node.values
        out = BooleanOperation(self.expr(values[0]), self.expr(values[1]), operator)
        for value in values[2:]:  # `a and b and c` is `(a and b) and c` in LibCST
            out = BooleanOperation(out, self.expr(value), operator)
        return out

    def unary(self, node: ast.UnaryOp):
        return UnaryOperation(self.expr(node.operand), _UNARY[type(node.op)])

    def compare(self, node: ast.Compare):
        targets = [ComparisonTarget(self.expr(c), _COMPARE[type(op)]) for op, c in zip(node.ops, node.comparators)]
        return Comparison(self.expr(node.left), targets)

    def if_exp(self, node: ast.IfExp):
        return IfExp(self.expr(node.test), self.expr(node.body), self.expr(node.orelse))

    def lambda_(self, node: ast.Lambda):
        return Lambda(self.parameters(node.args), self.expr(node.body))

    def named(self, node: ast.NamedExpr):
        return NamedExpr(self.expr(node.target), self.expr(node.value))

    def subscript(self, node: ast.Subscript):
        inner = node.slice
        if type(inner) is ast.Tuple and inner.elts and _position(inner) == _position(inner.elts[0]):
            parts = inner.elts  # `x[a, b]`: one element each (`x[(a, b)]` is one tuple)
        else:
            parts = [inner]
        return Subscript(self.expr(node.value), [SubscriptElement(self.index(p)) for p in parts])

    def index(self, node: ast.expr):
        if type(node) is ast.Slice:
            return self.slice_(node)
        if type(node) is ast.Starred:
            return Index(self.expr(node.value), "*")
        return Index(self.expr(node), None)

    def slice_(self, node: ast.Slice):
        return Slice(self.optional(node.lower), self.optional(node.upper), self.optional(node.step))

    def elements(self, nodes: list[ast.expr]) -> list:
        return [StarredElement(self.expr(n.value)) if type(n) is ast.Starred else Element(self.expr(n)) for n in nodes]

    def tuple_(self, node: ast.Tuple):
        return Tuple(self.elements(node.elts))

    def list_(self, node: ast.List):
        return List(self.elements(node.elts))

    def set_(self, node: ast.Set):
        return Set(self.elements(node.elts))

    def starred(self, node: ast.Starred):
        return StarredElement(self.expr(node.value))

    def dict_(self, node: ast.Dict):
        return Dict([StarredDictElement(self.expr(v)) if k is None else DictElement(self.expr(k), self.expr(v))
                     for k, v in zip(node.keys, node.values)])

    def comprehension(self, generators: list[ast.comprehension]):
        inner = None
        for generator in reversed(generators):
            inner = CompFor(self.expr(generator.target), self.expr(generator.iter),
                            [CompIf(self.expr(test)) for test in generator.ifs], inner,
                            _ASYNC if generator.is_async else None)
        return inner

    def list_comp(self, node: ast.ListComp):
        return ListComp(self.expr(node.elt), self.comprehension(node.generators))

    def set_comp(self, node: ast.SetComp):
        return SetComp(self.expr(node.elt), self.comprehension(node.generators))

    def generator(self, node: ast.GeneratorExp):
        return GeneratorExp(self.expr(node.elt), self.comprehension(node.generators))

    def dict_comp(self, node: ast.DictComp):
        return DictComp(self.expr(node.key), self.expr(node.value), self.comprehension(node.generators))

    def joined(self, node: ast.JoinedStr):
        return FormattedString(self.string_parts(node), "f'", "'")

    def string_parts(self, node: ast.JoinedStr) -> list:
        parts = []
        for value in node.values:
            if type(value) is ast.Constant:
                parts.append(FormattedStringText(str(value.value)))
            else:
                parts.append(self.formatted(value))
        return parts

    def formatted(self, node: ast.FormattedValue):
        spec = self.string_parts(node.format_spec) if node.format_spec is not None else None
        return FormattedStringExpression(self.expr(node.value), _CONVERSIONS.get(node.conversion), spec)

    # ------------------------------------------------------------- parameters
    def parameters(self, node: ast.arguments):
        positional = [*node.posonlyargs, *node.args]
        defaults = [None] * (len(positional) - len(node.defaults)) + list(node.defaults)
        params = [self.param(a, d, "") for a, d in zip(positional, defaults)]
        posonly, params = params[:len(node.posonlyargs)], params[len(node.posonlyargs):]
        kwonly = [self.param(a, d, "") for a, d in zip(node.kwonlyargs, node.kw_defaults)]
        if node.vararg is not None:
            star_arg = self.param(node.vararg, None, "*")
        else:
            star_arg = ParamStar() if kwonly else _NO
        star_kwarg = self.param(node.kwarg, None, "**") if node.kwarg is not None else None
        return Parameters(params, star_arg, kwonly, star_kwarg, posonly, ParamSlash() if posonly else _NO)

    def param(self, node: ast.arg, default: ast.expr | None, star: str):
        annotation = Annotation(self.expr(node.annotation)) if node.annotation is not None else None
        return Param(Name(node.arg), annotation, self.optional(default), star)


_COMPOUND = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.If, ast.For, ast.AsyncFor, ast.While,
             ast.Try, ast.With, ast.AsyncWith, ast.Match, *((ast.TryStar,) if hasattr(ast, "TryStar") else ()))


def _position(node: ast.AST) -> tuple[int, int]:
    return (node.lineno, node.col_offset)


def _dotted(name: str):
    """`a.b.c` as LibCST spells it: Attribute(Attribute(Name a, b), c)."""
    parts = name.split(".")
    out = Name(parts[0])
    for part in parts[1:]:
        out = Attribute(out, Name(part))
    return out
