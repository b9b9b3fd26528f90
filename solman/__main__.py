"""``python -m solman``: the `solman` command."""

from solman.cli import main

main()
