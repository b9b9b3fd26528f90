r"""Rendering: chapter and shell templates become LaTeX, and every printed value is recorded.

One Jinja environment with LaTeX-friendly delimiters (``\VAR{}``, ``\BLOCK{}``, ``\#{}``)
and ``StrictUndefined``. A chapter sees its own values by bare name, wrapped in ``ValueRef``
so that each one is computed only when printed and each print is recorded: which value,
which question, problem text or solution, its LaTeX, and the template line. The solution of
a question is rendered only for the solutions edition; for the problems edition its body is
never evaluated, so no solution text or value can reach the student's ``.tex``.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import inspect
import re
import sys
import traceback
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import jinja2
import jinja2.sandbox
from jinja2.environment import TemplateModule
from jinja2.runtime import LoopContext, Macro

from solman.values import filters
from solman.errors import Location, SolmanError, TemplateError, ValueFailure
from solman.project.answerspace import FILLS, OPEN_KINDS, AnswerSpace, fill_of, space_of
from solman.project.language import ENGLISH, Language, language
from solman.project.printing import CHAPTER_KEYS, Printing, printing_of
from solman.project.settings import EDITIONS, Chapter, Project
from solman.rendering.sourcemap import LINE_MARK, MARKS, USE_MARK, LineMarks, SourceMap, remove_marks, strip_marks
from solman.values.figures import figure_files
from solman.values.evaluation import ExitCalled, TimedOut, ValueFunction, failure_in_code, fingerprint, intercepted_exit, time_limit

POINTS_TABLE = "\x00points-table\x00"
SAYS_NOTHING = "\x00says-nothing\x00"  # what answer_space() prints: nothing, and no line when it has one of its own
OWN_LINE = re.compile(f"^(?:{MARKS.pattern})*{SAYS_NOTHING}(?:{MARKS.pattern})*\n|{SAYS_NOTHING}", re.MULTILINE)
QUESTION_KINDS = ("open", "mcq", "tf", "essay")  # essay: open, graded by hand (no answer=)
NOT_GIVEN = object()  # an argument the template left out (None says "no answer space")


@dataclass
class Use:
    """One place where a value was printed (or decided a condition, when ``latex`` is None)."""

    value: str
    key: str  # the value function's identity, as the test recorder reports it
    expr: str
    latex: str | None
    filter: str
    hash: str
    question: str | None
    role: str  # "problem", "solution", "answer" or "chapter"
    template: str | None = None
    line: int | None = None
    obj: object = field(default=None, repr=False, compare=False)  # what was printed; not serialised
    output_line: int | None = field(default=None, repr=False, compare=False)  # in the generated .tex

    def record(self) -> dict:
        return {name: getattr(self, name) for name in USE_FIELDS}


USE_FIELDS = ("value", "key", "expr", "latex", "filter", "hash", "question", "role", "template", "line")


@dataclass
class Question:
    id: str
    label: str
    points: int | float | None
    kind: str
    problem: str | None
    answer: str | None
    template: str | None = None
    line: int | None = None
    tolerance: float | None = None  # tol=: the accepted absolute error of a numeric answer, over the printed one


@dataclass
class Rendered:
    """A generated ``.tex`` file and what went into it."""

    name: str  # path under build/tex
    template: str  # project-relative template path
    text: str
    sources: SourceMap
    uses: list[Use] = field(default_factory=list)
    questions: list[Question] = field(default_factory=list)
    solutions: list[str] = field(default_factory=list)
    chapter: str | None = None
    title: str | None = None
    figures: dict[str, bytes] = field(default_factory=dict)  # the figures it includes: name under build/tex -> PDF


class Printed(str):
    """LaTeX produced by a filter, remembering the value it came from."""

    __slots__ = ("ref", "spec")

    def __new__(cls, latex: str, ref: ValueRef | None, spec: str) -> Printed:
        printed = super().__new__(cls, latex)
        printed.ref = ref
        printed.spec = spec
        return printed


class ValueRef:
    """A value (or an item of one) as a template sees it."""

    __slots__ = ("_render", "_root", "_name", "_function", "_object")
    __hash__ = object.__hash__

    def __init__(self, render: Render, root: str, name: str, function: ValueFunction | None,
                 obj: object = None) -> None:
        self._render = render
        self._root = root
        self._name = name
        self._function = function
        self._object = obj

    def _resolve(self) -> object:
        if self._function is not None:
            self._object = self._render.compute(self._root, self._function)
            self._function = None
        return self._object

    def _item(self, key: object, shown: str) -> ValueRef:
        return ValueRef(self._render, self._root, f"{self._name}{shown}", None, self._resolve()[key])

    def __getitem__(self, key: object) -> ValueRef:
        if isinstance(key, ValueRef):  # d[other.key]: the key is another value, used like a condition
            key._render.record(key, None, "condition")
            key = key._resolve()
        return self._item(key, f"[{key!r}]" if not isinstance(key, tuple) else f"[{', '.join(map(repr, key))}]")

    def __getattr__(self, attribute: str) -> ValueRef:
        if attribute.startswith("_"):
            raise AttributeError(attribute)
        obj = self._resolve()
        if isinstance(obj, Mapping) or not hasattr(obj, attribute):
            raise AttributeError(attribute)  # a dict's key, or no such attribute: Jinja tries the item
        if callable(getattr(obj, attribute)):
            raise jinja2.sandbox.SecurityError(
                f"value '{self._name}' is a {type(obj).__name__}; its method {attribute} is not for templates")
        return ValueRef(self._render, self._root, f"{self._name}.{attribute}", None, getattr(obj, attribute))

    def __iter__(self):
        obj = self._resolve()
        if isinstance(obj, Mapping):
            yield from obj
            return
        for index, item in enumerate(obj):
            yield ValueRef(self._render, self._root, f"{self._name}[{index}]", None, item)

    def items(self):
        r"""For a dict value: ``(key, value)`` pairs, as in ``\BLOCK{ for k, v in d.items() }``."""
        obj = self._resolve()
        if not isinstance(obj, Mapping):
            raise TemplateError(f"value '{self._name}' is a {type(obj).__name__}, not a dict; .items() needs a dict")
        return [(key, ValueRef(self._render, self._root, f"{self._name}[{key!r}]", None, item))
                for key, item in obj.items()]

    def __len__(self) -> int:
        return len(self._resolve())

    def __bool__(self) -> bool:
        self._render.record(self, None, "condition")
        return bool(self._resolve())

    def __eq__(self, other: object) -> bool:
        self._render.record(self, None, "condition")
        other = other._resolve() if isinstance(other, ValueRef) else other
        return bool(self._resolve() == other)

    def __str__(self) -> str:
        raise TemplateError(
            f"value '{self._name}' was used as a string",
            hint=r"print a value with \VAR{ name } or a filter; join text in the template, not with ~",
        )

    def __repr__(self) -> str:
        return f"value {self._name}"


class Edition:
    r"""``edition`` as a template sees it: compared with a name that is not an edition, it raises.

    ``\BLOCK{ if edition != "problem" }`` (for "problems") would otherwise be always true and put
    solution text in the problems edition. A plain object (not a ``str``), so that ``in`` with a
    string is an error too, and nothing but ``==``, ``!=``, ``str()`` and hashing is needed from it.
    """

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def _check(self, other: object) -> str:
        if isinstance(other, Edition):
            return other._name
        if not isinstance(other, str) or other not in EDITIONS:
            raise TemplateError(f"edition compared with {other!r}, which is not an edition "
                                f"({' or '.join(EDITIONS)})",
                                hint='write edition == "solutions" or edition == "problems"')
        return str(other)

    def __eq__(self, other: object) -> bool:
        return self._name == self._check(other)

    def __ne__(self, other: object) -> bool:
        return self._name != self._check(other)

    def __contains__(self, other: object) -> bool:
        raise TemplateError(f"{other!r} in edition: edition is one name, not a collection",
                            hint='write edition == "solutions" or edition == "problems"')

    def __hash__(self) -> int:
        return hash(self._name)

    def __str__(self) -> str:
        return self._name

    def __repr__(self) -> str:
        return repr(self._name)


@cache
def takes_language(func: Callable[..., str]) -> bool:
    return "language" in inspect.signature(func).parameters


@cache
def takes_printing(func: Callable[..., str]) -> bool:
    return "printing" in inspect.signature(func).parameters


def wrap_filter(name: str, func: Callable[..., str], code: str = "en") -> Callable[..., Printed]:
    """The template-side version of a pure filter: unwraps values and records provenance.

    A filter that writes numbers in a language's notation (it takes ``language``) is given the
    project's language ``code``; one that prints sympy objects (it takes ``printing``) is given the
    printing policy in force where the value is printed (the project's, under its chapter's
    ``printing()``). The filter's spec, as recorded, is what the template wrote.
    """
    localised = takes_language(func)
    printed = takes_printing(func)

    def apply(obj: object, *args: object, **kwargs: object) -> Printed:
        arguments = ", ".join([repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()])
        spec = f"{name}({arguments})" if arguments else name
        if localised:
            if "language" in kwargs:
                raise TemplateError(f"filter {name}: the language is the project's (language in [tool.solman])",
                                    hint=f"write | {name}(...) without language=")
            kwargs["language"] = code
        if isinstance(obj, jinja2.Undefined):
            str(obj)  # raises UndefinedError, reported with the names that exist
        obj = str(obj) if isinstance(obj, Edition) else obj
        ref = obj if isinstance(obj, ValueRef) else None
        if printed:
            if "printing" in kwargs:
                raise TemplateError(f"filter {name}: the printing policy is the project's ([tool.solman.printing]) "
                                    "or the chapter's", hint='write \\VAR{ printing(log="ln") } before the line, '
                                    f"and | {name}(...) without printing=")
            if ref is not None:
                kwargs["printing"] = ref._render.policy
        plain = ref._resolve() if ref is not None else obj
        try:
            return Printed(func(plain, *args, **kwargs), ref, spec)
        except filters.FilterError as exc:
            what = f"value '{ref._name}'" if ref is not None else "this expression"
            hint = (f"the value comes from {ref._render.values[ref._root].path.name}:"
                    f"{ref._render.values[ref._root].line}; fix what it returns, or print it with another filter"
                    if ref is not None else None)
            raise ValueFailure(f"cannot print {what} with {spec}: {exc}", hint=hint) from None
        except TypeError as exc:
            raise TemplateError(f"filter {name}: {exc}") from None

    apply.__name__ = name
    apply.__doc__ = func.__doc__
    return apply


SANDBOX_HINT = "templates see only their values and solman's building blocks; compute anything else in a value"
LOOP_ATTRIBUTES = frozenset({"index", "index0", "revindex", "revindex0", "first", "last", "length",
                             "depth", "depth0", "previtem", "nextitem", "cycle", "changed"})
LARGEST_REPEAT = 100_000  # "x" * n in a template: longer than any line of a manual
LARGEST_BITS = 4096  # an int a template computes with * or **: over 1200 digits, computed at once


class Sandbox(jinja2.sandbox.SandboxedEnvironment):
    r"""What a template may touch, decided once (Jinja's sandbox, with solman's rules).

    Templates are text (DESIGN.md, trust boundaries): a chapter sees its values and the building
    blocks (``question``, ``solution``, ``problem``, ``points_table``, ``see``, ``answer_space``,
    ``edition``), and nothing reachable from them. So, from a template:

    - attributes: none starting with ``_``; of a value (``ValueRef``) only what ``ValueRef`` gives
      (the value's attributes that are not methods, and ``.items()`` of a dict); of a ``loop``
      its counters and ``cycle``/``changed``; the macros of an imported template. Nothing of a
      string, a number, a function or any other object: no ``str.format``, no ``__class__``.
      Items (``d["k"]``, ``d.k`` for a dict) and iteration, ``len`` and comparisons stay free.
    - calls: the building blocks, macros (and ``caller``), a value's ``.items()``, a loop's
      methods; nothing else. Filters are solman's registry alone, and there are no globals
      (no ``range``, ``lipsum``, ``cycler``, ``dict``, ``namespace``).
    - operators: ``**`` and ``*`` are bounded, so that ``10 ** 10 ** 10`` or ``"x" * 10 ** 9``
      cannot stall or fill the build.

    An attempt is a ``SecurityError`` at once (not an undefined that fails later, or never),
    which ``Render.run`` reports as a ``TemplateError`` at the template line.
    """

    intercepted_binops = frozenset({"**", "*"})

    def is_safe_attribute(self, obj: object, attr: str, value: object) -> bool:
        if attr.startswith("_"):
            return False
        if isinstance(obj, ValueRef):
            return isinstance(value, ValueRef) or attr == "items"
        if isinstance(obj, LoopContext):
            return attr in LOOP_ATTRIBUTES
        if isinstance(obj, TemplateModule):
            return isinstance(value, Macro)
        return False

    def is_safe_callable(self, obj: object) -> bool:
        if isinstance(obj, (Macro, LoopContext, jinja2.Undefined)):  # calling an undefined says it is undefined
            return True
        if isinstance(obj, types.MethodType):
            owner = obj.__self__
            return (isinstance(owner, Render) and obj.__func__ in BUILDING_BLOCKS
                    or isinstance(owner, ValueRef) and obj.__func__ is ValueRef.items
                    or isinstance(owner, LoopContext) and obj.__name__ in LOOP_ATTRIBUTES)
        return False

    def unsafe_undefined(self, obj: object, attribute: str) -> jinja2.Undefined:
        if isinstance(obj, jinja2.Undefined):  # cycler.__init__: the error is that cycler does not exist
            obj._fail_with_undefined_error()
        what = f"value '{obj._name}'" if isinstance(obj, ValueRef) else f"a {type(obj).__name__}"
        raise jinja2.sandbox.SecurityError(f"a template cannot use {attribute!r} of {what}")

    def wrap_str_format(self, value: object) -> None:
        return None  # str.format is a method of a string like any other: not for templates

    def call(self, context: jinja2.runtime.Context, obj: object, /, *args: object, **kwargs: object) -> object:
        if not self.is_safe_callable(obj):
            raise jinja2.sandbox.SecurityError(f"a template cannot call {describe(obj)}")
        return context.call(obj, *args, **kwargs)

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: object, right: object) -> object:
        if operator == "**" and is_int(left) and is_int(right) and right > 0 and abs(left) > 1 \
                and left.bit_length() * right > LARGEST_BITS:
            raise jinja2.sandbox.SecurityError(f"a template cannot compute {left} ** {right}: too large")
        if operator == "*" and is_int(left) and is_int(right) and left.bit_length() + right.bit_length() > LARGEST_BITS:
            raise jinja2.sandbox.SecurityError("a template cannot multiply numbers this large")
        if operator == "*":
            for sequence, times in ((left, right), (right, left)):
                if (isinstance(sequence, (str, list, tuple)) and isinstance(times, int)
                        and len(sequence) * times > LARGEST_REPEAT):
                    raise jinja2.sandbox.SecurityError(
                        f"a template cannot repeat a {type(sequence).__name__} {times} times")
        return super().call_binop(context, operator, left, right)


def is_int(obj: object) -> bool:
    return isinstance(obj, int) and not isinstance(obj, bool)


def describe(obj: object) -> str:
    """What a template tried to call, in its own words."""
    if isinstance(obj, ValueRef):
        return f"value '{obj._name}' (a value is printed, not called)"
    name = getattr(obj, "__name__", None)
    return f"{name}()" if isinstance(name, str) else f"a {type(obj).__name__}"


@cache
def environment(search_path: tuple[Path, ...], code: str = "en") -> jinja2.Environment:
    """The one Jinja environment (per project folder and language): LaTeX delimiters, strict names,
    solman's filters only, sandboxed. Filters and printed values write numbers in the language ``code``."""
    env = Sandbox(
        block_start_string=r"\BLOCK{",
        block_end_string="}",
        variable_start_string=r"\VAR{",
        variable_end_string="}",
        comment_start_string=r"\#{",
        comment_end_string="}",
        line_statement_prefix=None,
        line_comment_prefix=None,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        loader=jinja2.FileSystemLoader([str(p) for p in search_path]),
        extensions=[LineMarks],
        finalize=functools.partial(finalize, code=code),
        auto_reload=True,
        cache_size=-1,
    )
    env.filters = {name: wrap_filter(name, func, code) for name, func in filters.FILTERS.items()}
    env.globals.clear()  # a chapter sees its values and the build context, nothing else (no range, lipsum)
    return env


def finalize(obj: object, code: str = "en") -> str:
    r"""Turn the result of every ``\VAR{...}`` into text, recording printed values (numbers in the language ``code``)."""
    if isinstance(obj, Printed):
        return obj.ref._render.mark(obj) if obj.ref is not None else str(obj)
    if isinstance(obj, ValueRef):
        return obj._render.mark(wrap_filter("latex", filters.latex, code)(obj))
    if isinstance(obj, (str, Edition)):
        return str(obj)
    if isinstance(obj, jinja2.Undefined):
        str(obj)  # raises UndefinedError, reported with the names that exist
    if callable(obj) or isinstance(obj, (jinja2.runtime.TemplateReference, TemplateModule)):  # \VAR{ see }, self
        raise jinja2.sandbox.SecurityError(f"a template cannot print {describe(obj)}")
    if obj is None:
        raise TemplateError("this expression is None and prints nothing",
                            hint="a macro that returns nothing belongs in \\BLOCK{ ... }, not \\VAR{ ... }")
    try:
        return filters.latex(obj, language=code)
    except filters.FilterError as exc:
        raise ValueFailure(f"cannot print this expression: {exc}",
                           hint="print values from verify/ or plain text; compute anything else in a value") from None


class Render:
    """The state of rendering one template: the values, the questions, the uses."""

    def __init__(self, project: Project, edition: str, chapter: Chapter | None,
                 values: Mapping[str, ValueFunction]) -> None:
        self.project = project
        self.language: Language = language(project.language)
        self.edition = edition
        self.chapter = chapter
        self.values = values
        self.uses: list[Use] = []
        self.questions: list[Question] = []
        self.solutions: list[str] = []
        self.question: Question | None = None
        self.role = "chapter"
        self.problem: str | None = None
        self.problems: dict[str, str] = {}  # number (or title) -> title
        self.problem_points: dict[str, tuple[float | None, Location | None]] = {}
        self.headings: dict[str, str] = {}  # problem -> "Problem 1", "Part 2" or ""
        self.hashes: dict[str, str] = {}
        self.points_table_at: Location | None = None
        self.extra: Mapping[str, object] = {}
        self.answer_space = AnswerSpace()  # the chapter's default, from answer_space() on
        self.printing = Printing()  # the chapter's printing policy, from printing() on (over the project's)
        self.placed_solution: str | None = None  # the current question's solution, as solution() wrote it

    # --- the names a chapter sees --------------------------------------------------------

    def context(self) -> dict[str, object]:
        names: dict[str, object] = {
            "edition": Edition(self.edition),
            "question": self.open_question,
            "solution": self.open_solution,
            "problem": self.open_problem,
            "points_table": self.points_table,
            "see": self.see,
            "answer_space": self.set_answer_space,
            "printing": self.set_printing,
        }
        names.update(self.extra)
        for name, function in self.values.items():
            if name in names:
                raise TemplateError(f"value '{name}' hides solman's own name '{name}'",
                                    location=Location.of(function.path, function.line, self.project.root),
                                    hint="rename the value")
            names[name] = ValueRef(self, name, name, function)
        return names

    def open_question(self, id: str, points: int | float | None = None, kind: str = "open",
                      answer: ValueRef | None = None, label: str | None = None,
                      space: object = NOT_GIVEN, fill: object = NOT_GIVEN, tol: int | float | None = None, *,
                      caller: Callable[[], str] | None = None) -> str:
        r"""``\BLOCK{ call question("4.1a", points=2) } problem... \BLOCK{ endcall }``.

        ``space`` and ``fill`` (solman/project/answerspace.py) give the question answer space in the
        problems edition, over the chapter's and the project's defaults; the solutions edition ignores them.
        """
        if caller is None:
            raise TemplateError("question() is a block, not a value",
                                hint="write \\BLOCK{ call question(\"1a\", points=2) } ... \\BLOCK{ endcall }")
        if self.question is not None:
            raise TemplateError(f"question '{id}' is inside question '{self.question.id}'",
                                hint="close the first question with \\BLOCK{ endcall } before the next")
        id = str(id) if isinstance(id, str) else id  # a filter's output is a str subclass; keep plain text
        label = str(label) if isinstance(label, str) else label
        if not isinstance(id, str) or not id.strip():
            raise TemplateError(f"a question id must be a non-empty string, not {id!r}",
                                hint="use the source's own numbering, for example \"4.1d\" or \"q10\"")
        if any(q.id == id for q in self.questions):
            raise TemplateError(f"question id '{id}' is used twice in this chapter",
                                hint="each question needs its own id: it names the question in the manifest, "
                                "the appendix and the answer key")
        if points is not None and (isinstance(points, bool) or not isinstance(points, (int, float))
                                   or points < 0):
            raise TemplateError(f"points of question '{id}' must be a non-negative number, not {points!r}",
                                hint="write points=2 or points=1.5; leave it out when the source gives none")
        if kind not in QUESTION_KINDS:
            raise TemplateError(f"question kind must be one of {', '.join(QUESTION_KINDS)}, not {kind!r}",
                                hint="mcq for multiple choice, tf for true/false, essay for an answer that is "
                                "reasoning (a proof, an explanation), open (the default) otherwise")
        if kind == "essay" and answer is not None:
            raise TemplateError(f"question '{id}' is an essay, graded by hand, so it cannot have answer=",
                                hint="leave kind=\"essay\" out to make it an open question with an answer")
        if answer is not None and not isinstance(answer, ValueRef):
            raise TemplateError(f"the answer of question '{id}' must be a value from verify/, "
                                f"not the literal {answer!r}", hint="so that a test checks it")
        if tol is not None and (answer is None or isinstance(tol, bool) or not isinstance(tol, (int, float))
                                or not tol >= 0):
            raise TemplateError(f"tol= of question '{id}' must be a non-negative number and needs answer=, "
                                f"not {tol!r}", hint="write answer=my_value, tol=0.01: the accepted absolute "
                                "error of the answer when a platform grades it")
        drawn = self.drawn_space(id, kind, space, fill)
        at = here()
        question = Question(id, label or question_label(id, self.language), points, kind, self.problem,
                            answer._name if answer is not None else None,
                            self.project.relative(Path(at[0])) if at else None, at[1] if at else None,
                            float(tol) if tol is not None else None)
        self.questions.append(question)
        self.question, self.role = question, "problem"
        if answer is not None:
            self.record(answer, None, "answer", role="answer")
        try:
            body = caller()
        except SolmanError as error:
            error.question = error.question or id
            raise
        finally:
            self.question, self.role = None, "chapter"
        body = self.wrapped_statement(body, drawn if self.edition == "problems" else None)
        anchor = f"q:{self.chapter.id if self.chapter else ''}:{id}"
        return (f"{mark(at)}\\begin{{question}}{{{question.label}}}{{{points_text(points, self.language)}}}{{{anchor}}}\n"
                f"{body}\\end{{question}}\n")

    def wrapped_statement(self, body: str, drawn: tuple[str, str] | None) -> str:
        r"""``body`` (a question's text) with its statement, the text before its solution, in ``statement``
        (``statement[solution]`` when its solution follows), or in ``withspace`` when it gets answer space: one
        box in solman.sty with the question's heading, so that the stem and the options stay on one page with
        the heading, and the solution's first lines with them (no bad breaks)."""
        at = body.find(self.placed_solution) if self.placed_solution else -1
        statement, rest = (body[:at], body[at:]) if at >= 0 else (body, "")
        self.placed_solution = None
        statement = statement.rstrip("\n")
        opening, closing = ((f"\\begin{{withspace}}{{{drawn[0]}}}{{{drawn[1]}}}", "\\end{withspace}") if drawn
                            else ("\\begin{statement}" + ("[solution]" if rest else ""), "\\end{statement}"))
        return f"{opening}\n{statement}\n{closing}\n{rest}"

    def drawn_space(self, id: str, kind: str, space: object, fill: object) -> tuple[str, str] | None:
        """The answer space of question ``id`` (its ``space`` and ``fill`` over the defaults), or None."""
        own = answer_space_of(space, fill, f"question '{id}'")
        drawn = own.drawn(kind, self.answer_space, self.project.answer_space)
        if own.fill is not None and drawn is None:
            hint = (f"a {kind} question gets the default space only when it says space= itself"
                    if kind not in OPEN_KINDS and own.space is None else "give it space=\"4cm\" too, or leave fill= out")
            raise TemplateError(f"question '{id}' has fill={own.fill!r} but no answer space", hint=hint)
        return drawn

    def set_answer_space(self, space: object = NOT_GIVEN, fill: object = NOT_GIVEN) -> str:
        r"""``\VAR{ answer_space(space="4cm", fill="lines") }``: the chapter's default answer space for the
        open questions after it, in the problems edition (over ``[tool.solman.answer_space]``)."""
        if self.question is not None:
            raise TemplateError("answer_space() cannot be inside a question",
                                hint="give the question space= and fill= instead: "
                                "\\BLOCK{ call question(\"1a\", space=\"4cm\", fill=\"lines\") }")
        if space is NOT_GIVEN and fill is NOT_GIVEN:
            raise TemplateError("answer_space() says nothing", hint=SPACE_HINT)
        self.answer_space = answer_space_of(space, fill, "answer_space()").over(self.answer_space)
        return SAYS_NOTHING

    def set_printing(self, **choices: object) -> str:
        r"""``\VAR{ printing(log="ln") }``: how the values after it are printed, over ``[tool.solman.printing]``
        (``log``, ``transpose``, ``surds``, ``order``, ``bold``; see solman/project/printing.py)."""
        if not choices:
            raise TemplateError("printing() says nothing", hint=PRINTING_HINT)
        policy, mistakes = printing_of(choices, CHAPTER_KEYS)
        if mistakes:
            raise TemplateError(mistakes[0][1], hint=PRINTING_HINT)
        self.printing = policy.over(self.printing)
        return SAYS_NOTHING

    @property
    def policy(self) -> Printing:
        """The printing policy in force: the chapter's, over the project's, over solman's defaults."""
        return self.printing.over(self.project.printing).complete()

    def open_solution(self, *, caller: Callable[[], str] | None = None) -> str:
        r"""``\BLOCK{ call solution() } ... \BLOCK{ endcall }`` inside a question."""
        if caller is None:
            raise TemplateError("solution() is a block, not a value",
                                hint="write \\BLOCK{ call solution() } ... \\BLOCK{ endcall }")
        if self.question is None:
            raise TemplateError("solution() must be inside a question block",
                                hint="put \\BLOCK{ call solution() } ... \\BLOCK{ endcall } between the "
                                "question's \\BLOCK{ call question(...) } and its \\BLOCK{ endcall }")
        if self.role == "solution":
            raise TemplateError(f"question '{self.question.id}' has a solution inside its solution",
                                hint="close the first solution with \\BLOCK{ endcall }")
        if self.edition != "solutions":
            return ""
        at = here()
        self.role = "solution"
        try:
            body = caller()
        finally:
            self.role = "problem"
        self.solutions.append(body)
        anchor = f"q:{self.chapter.id if self.chapter else ''}:{self.question.id}"
        self.placed_solution = f"{mark(at)}\\begin{{solution}}{{{anchor}}}\n{body}\\end{{solution}}\n"
        return self.placed_solution

    def open_problem(self, title: str, number: str | int | None = None, points: float | None = None,
                     heading: str | None = None) -> str:
        r"""``\VAR{ problem("Activation functions", 1, points=26) }``: a heading that groups questions.

        ``points`` is the problem's total as the source gives it; when its questions have points
        too, they must add up to it. ``heading`` is the word before the number ("Part 2"); by default
        the language's word for a problem ("Problem", "Problème", "Aufgabe").
        """
        heading = self.language.words["problem"] if heading is None else heading
        if self.question is not None:
            raise TemplateError("problem() cannot be inside a question",
                                hint="open the problem before its questions: \\VAR{ problem(\"Title\", 1) }")
        if points is not None and (isinstance(points, bool) or not isinstance(points, (int, float)) or points < 0):
            raise TemplateError(f"points of problem '{title}' must be a non-negative number, not {points!r}",
                                hint="write points=26, the problem's total as the source gives it")
        title = str(title)
        self.problem = f"{number}" if number is not None else title
        if self.problem in self.problems:
            raise TemplateError(f"problem {self.problem} appears twice in this chapter",
                                hint="give each problem its own number or title")
        self.problems[self.problem] = title
        self.headings[self.problem] = f"{heading} {number}" if number is not None else ""
        origin = here()
        self.problem_points[self.problem] = (points, Location.of(origin[0], origin[1], self.project.root)
                                             if origin else None)
        return f"\\problem[{heading}]{{{'' if number is None else number}}}{{{title}}}\n"

    def see(self, chapter_id: str, question_id: str) -> str:
        r"""``\VAR{ see("other_chapter", "2.1") }``: a reference to a question, linked where possible.

        Within a chapter it is always a link. Across chapters it links in the manual and is plain
        text ("Chapter 3, question 2.1") in a chapter's own PDF, where the target is absent. The words
        are the project's language's.
        """
        words = self.language.words
        numbers = {c.id: n for n, c in enumerate(self.project.chapters, start=1)}
        if chapter_id not in numbers:
            raise TemplateError(f"see(): no chapter '{chapter_id}' in this project",
                                hint=f"chapters: {', '.join(numbers)}")
        anchor = f"q:{chapter_id}:{question_id}"
        label = question_label(question_id, self.language)
        if self.chapter is not None and chapter_id == self.chapter.id:
            return f"\\hyperref[{anchor}]{{{words['question']}~{label}}}"
        return (f"\\seequestion{{{anchor}}}{{{words['chapter']}~{numbers[chapter_id]}, "
                f"{words['question']}~{label}}}")

    def points_table(self) -> str:
        r"""``\VAR{ points_table() }``: the points of every problem (filled in after rendering)."""
        origin = here()
        self.points_table_at = Location.of(origin[0], origin[1], self.project.root) if origin else None
        return POINTS_TABLE

    # --- values --------------------------------------------------------------------------

    def compute(self, name: str, function: ValueFunction) -> object:
        """The value's result; whatever goes wrong in the author's code is a ``ValueFailure`` at its line."""
        watching = getattr(self.values, "watching", contextlib.nullcontext)  # what author code reads
        try:  # the limit innermost: it ends before the others restore what they changed
            with watching(), intercepted_exit(), time_limit(self.project.timeout):
                return function()
        except SolmanError:
            raise
        except (Exception, SystemExit, ExitCalled, TimedOut) as exc:  # KeyboardInterrupt stays an interruption
            raise failure_in_code(exc, f"value '{name}'", self.project.root, function.path) from None

    def record(self, ref: ValueRef, latex: str | None, spec: str, role: str | None = None) -> int:
        if ref._root not in self.hashes:  # through compute(): a condition may be the first to ask for a value
            self.hashes[ref._root] = fingerprint(self.compute(ref._root, self.values[ref._root]))
        self.uses.append(Use(ref._root, self.values[ref._root].key, ref._name, latex, spec, self.hashes[ref._root],
                             self.question.id if self.question else None, role or self.role,
                             obj=ref._resolve()))
        return len(self.uses) - 1

    def mark(self, printed: Printed) -> str:
        index = self.record(printed.ref, str(printed), printed.spec)
        return USE_MARK.format(index=index) + printed

    # --- running a template --------------------------------------------------------------

    def run(self, template_name: str, output_name: str, extra: Mapping[str, object] = ()) -> Rendered:
        env = environment(search_path(self.project), self.project.language)
        template_path = next((folder / template_name for folder in search_path(self.project)
                              if (folder / template_name).is_file()), self.project.root / template_name)
        try:
            self.extra = extra
            template = env.get_template(template_name)
            marked = template.render(self.context())
        except jinja2.TemplateSyntaxError as exc:
            hint = (f"the filters are: {', '.join(filters.FILTERS)}" if "No filter named" in (exc.message or "")
                    else "check the \\BLOCK{ } and \\VAR{ } on this line: delimiters, quotes, parentheses, "
                    "and that every block has its end")
            raise TemplateError(exc.message or "syntax error", hint=hint,
                                location=Location.of(exc.filename or template_path, exc.lineno,
                                                     self.project.root)) from None
        except jinja2.TemplateNotFound as exc:
            raise TemplateError(f"template {exc.name} not found",
                                location=Location.of(template_path, None, self.project.root)) from None
        except SolmanError as exc:
            raise self.locate(exc, exc) from None
        except jinja2.sandbox.SecurityError as exc:  # see Sandbox: what a template may touch
            raise self.locate(TemplateError(exc.message or "not allowed in a template", hint=SANDBOX_HINT),
                              exc) from None
        except jinja2.UndefinedError as exc:
            raise self.locate(TemplateError(exc.message or "undefined name", hint=self.names_hint(exc)),
                              exc) from None
        except Exception as exc:
            if not raised_in_template(exc):
                raise
            raise self.locate(TemplateError(f"{type(exc).__name__}: {exc}", hint=expression_hint(exc)),
                              exc) from None
        if POINTS_TABLE in marked:
            marked = marked.replace(POINTS_TABLE, self.render_points_table())
        marked = OWN_LINE.sub("", marked)
        text, sources, printed_at = strip_marks(marked)
        for index, (origin, output_line) in printed_at.items():
            self.uses[index].output_line = output_line
            if origin:
                self.uses[index].template = self.project.relative(Path(origin[0]))
                self.uses[index].line = origin[1]
        return Rendered(output_name, self.project.relative(template_path), text, sources, self.uses, self.questions,
                        [remove_marks(s) for s in self.solutions], self.chapter.id if self.chapter else None,
                        chapter_title(text), figure_files([u.obj for u in self.uses if u.latex is not None]))

    def locate(self, error: SolmanError, exc: BaseException) -> SolmanError:
        """Point ``error`` at the template line being rendered when ``exc`` was raised."""
        frame = template_frame(exc)
        at = Location.of(frame.filename, frame.lineno, self.project.root) if frame else None
        where = f" (question {error.question})" if error.question else ""
        if isinstance(error, ValueFailure) and error.location is not None:
            if at is not None:
                error.details += (f"needed by {at}{where}",)
            return error
        if error.location is None:
            error.location = at
            if where:
                error.details += (f"in question {error.question}",)
        return error

    def names_hint(self, exc: jinja2.UndefinedError) -> str | None:
        match = re.search(r"'([^']+)' is undefined", exc.message or "")
        if not match:  # "... has no attribute 'upper'": a template reaching past what it is given
            return SANDBOX_HINT
        names = sorted(self.context())
        close = difflib.get_close_matches(match[1], names, n=3)
        suggestion = f"did you mean {', '.join(close)}? " if close else ""
        return f"{suggestion}available names: {', '.join(names)}"

    def render_points_table(self) -> str:
        groups: dict[tuple[str, str], float] = {}
        for question in self.questions:
            if question.points is not None:
                key = ((self.headings[question.problem], self.problems[question.problem])
                       if question.problem is not None else (question.label, ""))
                groups[key] = groups.get(key, 0) + question.points
        for problem, (points, location) in self.problem_points.items():
            if points is None:
                continue
            key = (self.headings[problem], self.problems[problem])
            if key in groups and groups[key] != points:
                raise TemplateError(f"the questions of problem {problem} have {number_text(groups[key])} points, "
                                    f"but the problem says {number_text(points)}", location=location,
                                    hint="correct the points of the problem or of its questions to match the source")
            groups[key] = points
        order = {(self.headings[p], title): n for n, (p, title) in enumerate(self.problems.items())}
        groups = dict(sorted(groups.items(), key=lambda item: order.get(item[0], len(order))))
        if not groups:
            raise TemplateError("points_table() found no question with points", location=self.points_table_at,
                                hint="give questions their points: question(\"1.1a\", points=2)")
        rows = "".join(f"\\pointsrow{{{number}}}{{{title}}}{{{number_text(points, self.language)}}}\n"
                       for (number, title), points in groups.items())
        total = number_text(sum(groups.values()), self.language)
        return f"\\begin{{pointstable}}\n{rows}\\pointstotal{{{total}}}\n\\end{{pointstable}}"


# what Render.context() names; the only methods a template calls
BUILDING_BLOCKS = frozenset({Render.open_question, Render.open_solution, Render.open_problem, Render.points_table,
                             Render.see, Render.set_answer_space, Render.set_printing})


def render_chapter(project: Project, chapter: Chapter, values: Mapping[str, ValueFunction],
                   edition: str) -> Rendered:
    """The chapter's ``.tex`` for one edition."""
    render = Render(project, edition, chapter, values)
    return render.run(project.relative(chapter.template), f"chapters/{chapter.id}-{edition}.tex",
                      {"chapter_id": chapter.id})


def render_shell(project: Project, shell: str, output_name: str, edition: str,
                 context: Mapping[str, object]) -> Rendered:
    """A document shell (``templates/<shell>``) around chapters."""
    render = Render(project, edition, None, {})
    return render.run(shell, output_name, context)


SPACE_HINT = (f'for example space="4cm" (a number and a unit: cm, mm, in, pt, em or ex), "stretch" for the rest '
              f'of the page, or None for no space; fill is one of {", ".join(FILLS)}')


PRINTING_HINT = ('for example printing(log="ln"), printing(surds="keep", bold=["x", "w"]); the choices are log '
                 '("log", "ln"), transpose ("top", "T"), surds ("rationalise", "keep"), order ("descending", '
                 '"source") and bold (a list of symbol names)')


def answer_space_of(space: object, fill: object, what: str) -> AnswerSpace:
    """What a template says of answer space (``NOT_GIVEN`` where it says nothing), checked."""
    try:
        return AnswerSpace(None if space is NOT_GIVEN else space_of(space), None if fill is NOT_GIVEN else fill_of(fill))
    except ValueError as exc:
        raise TemplateError(f"{what}: {exc}", hint=SPACE_HINT) from None


def chapter_title(text: str) -> str | None:
    r"""The argument of the first ``\chapter{...}`` in ``text`` (braces balanced)."""
    match = re.search(r"\\chapter\*?(?:\[[^\]]*\])?\{", text)
    if not match:
        return None
    depth, start = 1, match.end()
    for position in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[position], 0)
        if depth == 0:
            return text[start:position]
    return None


def search_path(project: Project) -> tuple[Path, ...]:
    """Chapters load as ``chapters/<id>.tex.j2`` from the root; shells by name, the project's first."""
    return (project.root, *project.template_folders)


def question_label(id: str, language: Language = ENGLISH) -> str:
    r"""How an id is shown: ``4.1a`` as ``4.1\,(a)``, ``q10`` as ``Q10`` (``F10`` in German), others as written."""
    if match := re.fullmatch(r"(\d+(?:\.\d+)*)\s*\(?([a-z]|[ivx]+)\)?", id):
        return f"{match[1]}\\,({match[2]})"
    if match := re.fullmatch(r"q(\d+)", id, flags=re.IGNORECASE):
        return f"{language.words['question_short']}{match[1]}"
    return filters.text(id)


def number_text(points: float, language: Language = ENGLISH) -> str:
    """Points as the exam writes them: 2, 1.5, 2.5 (1,5 where the comma marks decimals)."""
    return language.text_number(f"{points:g}")


def points_text(points: float | None, language: Language = ENGLISH) -> str:
    """``2~points``, ``1~point``; ``1,5~point`` in French, where the singular runs up to 2."""
    if points is None:
        return ""
    word = language.words["point"] if language.singular(points) else language.words["points"]
    return f"{number_text(points, language)}~{word}"


def mark(origin: tuple[str, int] | None) -> str:
    """A line mark for text the engine writes itself, so LaTeX messages about it find the template."""
    return LINE_MARK.format(name=origin[0], line=origin[1]) if origin else ""


def here() -> tuple[str, int] | None:
    """The template file and line being rendered now (the innermost frame of compiled template code)."""
    frame = sys._getframe(1)
    while frame is not None:
        template = frame.f_globals.get("__jinja_template__")
        if template is not None and template.filename:
            return template.filename, template.get_corresponding_lineno(frame.f_lineno)
        frame = frame.f_back
    return None


def template_frame(exc: BaseException) -> traceback.FrameSummary | None:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.endswith(".j2")]
    return frames[-1] if frames else None


def raised_in_template(exc: BaseException) -> bool:
    """Whether ``exc`` came from template code itself (the author's) rather than solman's."""
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and frames[-1].filename.endswith(".j2")


def expression_hint(exc: BaseException) -> str | None:
    if "Edition" in str(exc):  # edition in "...": a string cannot hold it
        return 'edition is one name: write edition == "solutions" or edition == "problems"'
    if "ValueRef" in str(exc):
        return "compute derived numbers in verify/ as values; templates only print them"
    return None
