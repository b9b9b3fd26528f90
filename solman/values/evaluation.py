"""Values: the ``@value`` functions of ``verify/`` modules, computed once and observed by tests.

A value is a zero-argument, deterministic function. Calling it returns its result, computed
at most once per process; numpy arrays and sympy matrices come back read-only so a test
cannot change what the manual prints. Calls made directly by test code (not by another
value) are reported to observers: that is how ``invoke verify`` knows which printed values
a passing test exercised.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import importlib.util
import inspect
import json
import os
import posix
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from types import ModuleType

from solman.errors import Location, ValueFailure
from solman.values.figures import SavedFigure, figure_style, headless, saved
from solman.values.reads import ENGINE


class Tex(str):
    """Trusted LaTeX from a value, printed exactly as written."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"tex({str.__repr__(self)})"


tex = Tex

_UNSET = object()
_depth = 0  # how many value computations are on the stack
_observers: list[Callable[[ValueFunction], None]] = []


class ValueFunction:
    """A function decorated with ``@value``."""

    def __init__(self, func: Callable[[], object]) -> None:
        required = [
            p for p in inspect.signature(func).parameters.values()
            if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
        code = func.__code__
        if required:
            raise ValueFailure(
                f"value '{func.__name__}' takes arguments ({', '.join(p.name for p in required)})",
                location=Location.of(code.co_filename, code.co_firstlineno),
                hint="a value is a function of no arguments; compute variants as separate values "
                "or return a dict",
            )
        self.func = func
        self.name = func.__name__
        self.path = Path(code.co_filename)
        self.line = code.co_firstlineno
        self.__doc__ = func.__doc__
        self.__name__ = func.__name__
        self.__qualname__ = func.__qualname__
        self.__module__ = func.__module__
        self.__wrapped__ = func
        self._result = _UNSET

    @property
    def key(self) -> str:
        """Identity of the value across processes: its file name and function name."""
        return f"{self.path.name}::{self.name}"

    def __call__(self) -> object:
        global _depth
        if _depth == 0:
            for observe in _observers:
                observe(self)
        if self._result is _UNSET:
            _depth += 1
            try:
                with figure_style():  # a figure is saved (and closed) before pyplot's settings are restored
                    self._result = freeze(self.func())
            finally:
                _depth -= 1
        return self._result

    def __repr__(self) -> str:
        return f"<value {self.name} at {self.path.name}:{self.line}>"


def value(func: Callable[[], object]) -> ValueFunction:
    """Declare ``func`` as a value a chapter may print."""
    return ValueFunction(func)


def observe(callback: Callable[[ValueFunction], None]) -> None:
    """Call ``callback`` whenever code other than a value asks for a value."""
    _observers.append(callback)


# --- what a value is, asked without importing numpy or sympy ------------------------------------

def library_types(module: str, *names: str) -> tuple[type, ...]:
    """Classes of a library that is already imported, for isinstance; none while it is not (yet)."""
    found = sys.modules.get(module)
    if found is None:
        return ()
    return tuple(kind for kind in (getattr(found, name, None) for name in names) if isinstance(kind, type))


def is_array(obj: object) -> bool:
    return isinstance(obj, library_types("numpy", "ndarray"))


def is_sympy(obj: object) -> bool:
    """A sympy expression or matrix."""
    return isinstance(obj, library_types("sympy", "Basic", "MatrixBase"))


def is_matrix(obj: object) -> bool:
    """A numpy array or a sympy matrix."""
    return isinstance(obj, library_types("numpy", "ndarray") + library_types("sympy", "MatrixBase"))


def matrix_rows(obj: object) -> list[list[object]]:
    """The rows of a matrix or array; a 1-D array is a column."""
    if is_array(obj):
        if obj.ndim > 2:
            raise ValueError(f"an array of {obj.ndim} dimensions has no rows; index it first")
        return [[x] for x in obj.tolist()] if obj.ndim == 1 else obj.tolist()
    if isinstance(obj, library_types("sympy", "MatrixBase")):
        return [list(obj.row(i)) for i in range(obj.rows)]
    raise ValueError(f"a {type(obj).__name__} is not a matrix")


def freeze(result: object) -> object:
    """Make matrices and arrays read-only, so the printed result cannot be altered later; save figures
    as their PDF (solman.values.figures)."""
    result = saved(result)
    if is_array(result):
        result.setflags(write=False)
        return result
    if isinstance(result, library_types("sympy", "MatrixBase")) and not isinstance(
            result, library_types("sympy", "ImmutableMatrix")):
        return sys.modules["sympy"].ImmutableMatrix(result)
    return result


def load_module(path: Path, name: str, root: Path, timeout: float | None = None) -> ModuleType:
    """Import the verify module at ``path``; its folder is importable for local helpers.

    ``timeout``: seconds the import may take (see ``time_limit``), none by default.
    """
    headless()  # a module that imports pyplot draws without a display
    folder = str(path.parent)
    if folder in sys.path:
        sys.path.remove(folder)
    sys.path.insert(0, folder)  # this project's helpers come first, even after another project's
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    writes_bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, True  # nothing outside build/
    try:
        with intercepted_exit(), time_limit(timeout):
            spec.loader.exec_module(module)
    except ValueFailure:
        raise
    except SyntaxError as exc:
        raise ValueFailure(
            f"{path.name} does not parse: {exc.msg}",
            location=Location.of(exc.filename or path, exc.lineno, root),
            hint="a Python syntax error: look at this line and the one before it",
        ) from None
    except (Exception, SystemExit, ExitCalled, TimedOut) as exc:  # KeyboardInterrupt stays an interruption
        raise failure_in_code(exc, f"importing {path.name}", root, path) from None
    finally:
        sys.dont_write_bytecode = writes_bytecode
    return module


def values_of(module: ModuleType) -> dict[str, ValueFunction]:
    """The values a chapter sees: every ``@value`` in its verify module's namespace."""
    return {name: obj for name, obj in vars(module).items() if isinstance(obj, ValueFunction)}


def failure_in_code(exc: BaseException, who: str, root: Path, fallback: Path) -> ValueFailure:
    """A ``ValueFailure`` located at the innermost frame of ``exc`` in the author's code.

    ``who`` names the code that ran: "value 'x'" or "importing x.py". An attempt to end the
    process (sys.exit, raise SystemExit, os._exit) is a failure like any other exception:
    author code cannot make a command stop early with a status of its choosing.
    """
    frames = traceback.extract_tb(exc.__traceback__)
    inside = [f for f in frames if is_author_file(Path(f.filename), root)]
    frame = inside[-1] if inside else None
    location = Location.of(frame.filename, frame.lineno, root) if frame else Location.of(fallback, None, root)
    if isinstance(exc, TimedOut):
        verb = "did not finish" if who.startswith("importing") else "did not return"
        return ValueFailure(f"{who} {verb} within {exc.seconds:g} s (timeout in [tool.solman])",
                            location=location,
                            hint="the line shown is where it was running when stopped: a loop that never ends, "
                            "or a computation too slow for a build; make it faster, or raise timeout")
    if isinstance(exc, (SystemExit, ExitCalled)):
        call = (f"os._exit({exc.status!r})" if isinstance(exc, ExitCalled)
                else f"sys.exit({exc.code!r}) or raised SystemExit")
        return ValueFailure(f"{who} called {call}", location=location,
                            hint="a value returns its result, or raises an exception that says what is wrong; "
                            "it cannot end the build (and a verify module cannot end it while it is imported)")
    return ValueFailure(f"{who} raised {type(exc).__name__}: {exc}", location=location,
                        hint="the line shown is where the computation failed; its tests, run with "
                        "`python -m pytest verify/<chapter>.py`, show the full traceback")


# --- os._exit while author code runs in this process --------------------------------------------

class ExitCalled(BaseException):
    """What ``os._exit(status)`` raises while ``intercepted_exit()`` is active.

    A BaseException, like SystemExit, so that an author's ``except Exception`` does not
    swallow it: os._exit cannot be caught either.
    """

    def __init__(self, status: object) -> None:
        super().__init__(status)
        self.status = status


_real_exit = os._exit
_exit_lock = threading.Lock()
_exit_depth = 0  # how many intercepted_exit() blocks are active (they nest: a value may import a module)
_exit_owner: int | None = None  # the process that installed the replacement


def _raising_exit(status: int) -> None:
    if os.getpid() != _exit_owner:  # a child forked by author code (multiprocessing) exits as usual
        _real_exit(status)
    raise ExitCalled(status)


@contextlib.contextmanager
def intercepted_exit() -> Iterator[None]:
    """While author code runs in solman's own process, ``os._exit`` raises ``ExitCalled``.

    ``os._exit`` ends the process at once, skipping every ``except`` and ``finally``: called by a
    value during ``invoke pdf``, it would end the command with the value's status, 0 meaning
    success, having published nothing. So ``os._exit`` (and ``posix._exit``, the same function)
    are replaced for the duration, and the originals restored afterwards. Code that took its own
    reference beforehand (``from os import _exit`` at import time) is not intercepted; that is the
    limit of this simple guard. Tests run in their own pytest process and are not intercepted:
    there a journal names the test that ended the process (see ``solman.checking.testing``).
    """
    global _exit_depth, _exit_owner
    with _exit_lock:
        if _exit_depth == 0:
            _exit_owner = os.getpid()
            os._exit = posix._exit = _raising_exit
        _exit_depth += 1
    try:
        yield
    finally:
        with _exit_lock:
            _exit_depth -= 1
            if _exit_depth == 0:
                os._exit = posix._exit = _real_exit


# --- a value (or an import) that never returns --------------------------------------------------

class TimedOut(BaseException):
    """What a value still running when ``time_limit`` expires raises, where it is running.

    A BaseException, like ExitCalled, so that an author's ``except Exception`` does not swallow it.
    """

    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds


@dataclasses.dataclass
class Limit:
    """A ``time_limit`` in force; ``expired`` is the ``TimedOut`` it raised, if it did."""

    seconds: float | None
    expired: TimedOut | None = None


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[Limit]:
    """Raise ``TimedOut`` in the code running here if it has not finished after ``seconds``.

    A SIGALRM timer, because the computation runs in this (the main) thread and only a signal
    can interrupt it there: a watchdog thread could notice the time but not stop the value,
    since Python cannot stop a thread (nor raise in another one in a loop of pure Python reliably).
    The exception is raised at the line the author's code is executing; a long call into compiled
    code (one numpy or LAPACK call) is interrupted when it returns to Python.

    Off a main thread, signals cannot be used: there is no limit (a watch or a test calling
    ``build`` from a worker thread). Nested limits keep the outer one; a timer already set by
    someone else (pytest-timeout's, in the engine's own tests) is left alone when it expires
    first, and otherwise set again afterwards with the time it had left.
    """
    limit = Limit(seconds)
    if not seconds or threading.current_thread() is not threading.main_thread() or _limits:
        yield limit
        return
    outer_delay, outer_interval = signal.getitimer(signal.ITIMER_REAL)
    if outer_delay and outer_delay <= seconds:  # someone's alarm rings first anyway
        yield limit
        return
    started = time.monotonic()

    def disarm() -> None:
        if not _limits:
            return
        signal.setitimer(signal.ITIMER_REAL, 0)  # from here on, no alarm of ours
        _limits.clear()
        signal.signal(signal.SIGALRM, previous if previous is not None else signal.SIG_DFL)
        if outer_delay:
            left = max(outer_delay - (time.monotonic() - started), 1e-3)
            signal.setitimer(signal.ITIMER_REAL, left, outer_interval)

    def expire(signum: int, frame: object) -> None:
        if not _limits:  # delivered just as the code finished: it finished in time
            return
        disarm()  # restored here, since the exception may cut short the finally below
        limit.expired = TimedOut(seconds)
        raise limit.expired

    previous = signal.signal(signal.SIGALRM, expire)
    _limits.append(seconds)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield limit
    finally:
        disarm()


_limits: list[float] = []  # the active limit (at most one: they do not nest)


def is_author_file(file: Path, root: Path) -> bool:
    """Whether ``file`` belongs to the author's project rather than to Python or solman."""
    file = file.resolve()
    try:
        relative = file.relative_to(root.resolve())
    except ValueError:
        return False
    return not file.is_relative_to(ENGINE) and not {".venv", "site-packages"} & set(relative.parts)


def canonical(obj: object, _path: tuple[int, ...] = ()) -> object:
    """A JSON form of a value that changes exactly when the value does.

    A container that holds itself (``x = []; x.append(x)``) is written with a back-reference to
    the enclosing container it repeats, ``{"cycle": depth}``, so that it has a form (and a
    fingerprint) like any other value, while printing it is refused.
    """
    if isinstance(obj, (list, tuple, Mapping)):
        if id(obj) in _path:
            return {"cycle": _path.index(id(obj))}
        inner = (*_path, id(obj))
        if isinstance(obj, Mapping):
            return {"dict": [[str(k), canonical(v, inner)] for k, v in obj.items()]}
        return [canonical(item, inner) for item in obj]
    if isinstance(obj, Tex):
        return {"tex": str(obj)}
    if isinstance(obj, SavedFigure):
        return {"figure": obj.sha256}
    if isinstance(obj, bool):
        return {"bool": obj}
    if isinstance(obj, int):
        return {"int": digits(obj)}
    if isinstance(obj, Fraction):
        return {"rational": f"{digits(obj.numerator)}/{digits(obj.denominator)}"}
    if isinstance(obj, float):
        return {"float": repr(obj)}
    if isinstance(obj, str):
        return {"str": obj}
    if obj is None:
        return {"none": None}
    if is_array(obj):
        return {"array": str(obj.dtype), "shape": list(obj.shape),
                "data": hashlib.sha256(sys.modules["numpy"].ascontiguousarray(obj).tobytes()).hexdigest()}
    if isinstance(obj, library_types("numpy", "generic")):
        return canonical(obj.item())
    if is_sympy(obj):
        return {"sympy": sys.modules["sympy"].srepr(obj)}
    return {"repr": f"{type(obj).__qualname__}:{obj!r}"}


def digits(n: int) -> str:
    """``str(n)``, also for integers beyond Python's limit of 4300 digits on that conversion."""
    return str(n) if n.bit_length() < 14_000 else str(Decimal(n))


def fingerprint(obj: object) -> str:
    """A short hash of a value's canonical form."""
    text = json.dumps(canonical(obj), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]
