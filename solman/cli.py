"""The `solman` command: invoke's own Program over solman's tasks, so `solman pdf` is `invoke pdf`.

Invoke documents this way of shipping a command of one's own ("Reusing Invoke's CLI module as a
distinct binary"). It adds ``-C DIR``, the project's folder, to invoke's options.
"""

from __future__ import annotations

import os
from pathlib import Path

from invoke import Argument, Program

from solman import __version__
from solman.tasks import ns


class Solman(Program):
    def core_args(self) -> list[Argument]:
        return [*super().core_args(),
                Argument(names=("directory", "C"),
                         help="the project's folder (default: the nearest, from here upwards, whose "
                              "pyproject.toml has [tool.solman]); SOLMAN_PROJECT does the same")]

    def execute(self) -> None:
        if self.args.directory.value:
            os.environ["SOLMAN_PROJECT"] = str(Path(self.args.directory.value).expanduser().resolve())
        super().execute()


program = Solman(name="solman", binary="solman", namespace=ns, version=__version__)


def main() -> None:
    program.run()
