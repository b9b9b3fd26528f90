"""``invoke watch --html``: the HTML edition served on localhost, rebuilt on every save, reloaded live.

The sources are watched as ``invoke watch`` watches them (``solman.build.watch``), in a thread that
rebuilds the HTML edition after every change; python-livereload (a maintained server on tornado)
serves build/html, adds its reload script to every page it serves, and reloads the browser's page
when a file of build/html changes. Ctrl-C stops both.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from solman.build.watch import watch
from solman.errors import SolmanError

log = logging.getLogger("solman")

HOST = "127.0.0.1"  # this machine only: a draft is not for the network


def serve_site(root: Path, site: Path, rebuild: Callable[[object], None], report: Callable[[SolmanError], None],
               port: int = 8000) -> None:
    """Serve ``site`` on http://127.0.0.1:``port``/ while rebuilding it on every change of ``root``'s sources."""
    from livereload import Server

    site.mkdir(parents=True, exist_ok=True)
    stopping = threading.Event()
    watcher = threading.Thread(target=watch, args=(root, rebuild, report), kwargs={"stop": stopping.is_set},
                               name="solman-watch", daemon=True)
    watcher.start()
    server = Server()
    server.watch(str(site), delay=0.5)
    log.info("serving the HTML edition at http://%s:%d/ (Ctrl-C to stop)", HOST, port)
    try:
        server.serve(host=HOST, port=port, root=str(site), open_url_delay=None, restart_delay=0)
    finally:
        stopping.set()
