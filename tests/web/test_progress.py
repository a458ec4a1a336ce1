"""The replay's progress: events from a real exchange (bytes uploaded, import steps) and the terminal
bar of ``cml-exchange replay`` (drawn only on a TTY, plain text on stderr)."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer

from exchange_server.app import make_app
from exchange_server.replay import Progress, ReplayNode, replay_catalog
from exchange_server.serve_cli import TerminalProgress, render_progress
from tests.web.conftest import CLASSIC, NODE_PASSWORD, NODE_USER, settings_for


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


async def test_a_replay_reports_every_piece_uploaded_and_every_import_answer(
    tmp_path: Path, sqlite_template: Path
) -> None:
    shutil.copyfile(sqlite_template, tmp_path / "cml.db")
    settings = settings_for(
        tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'cml.db'}", file_limit=2048, zip=False
    )
    server = TestServer(make_app(settings), host="127.0.0.1")
    await server.start_server()
    events: list[Progress] = []
    files = [("import.xml", CLASSIC / "import.xml"), ("offers.xml", CLASSIC / "offers.xml")]
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
            node = ReplayNode(
                http, str(server.make_url("/1c_exchange")), NODE_USER, NODE_PASSWORD,
                report=lambda _: None, progress=events.append,
            )  # fmt: skip
            await replay_catalog(node, files)
    finally:
        await server.close()
    for name, path in files:
        size = path.stat().st_size
        sent = [e.done for e in events if e.phase == "upload" and e.name == name]
        assert sent == sorted(sent) and sent[-1] == size and len(sent) == -(-size // 2048)
        assert all(e.total == size for e in events if e.phase == "upload" and e.name == name)
        steps = [e for e in events if e.phase == "import" and e.name == name]
        assert [e.done for e in steps] == list(range(1, len(steps) + 1))
        assert steps[-1].finished and not any(e.finished for e in steps[:-1])
    assert [e.name for e in events if e.finished] == ["import.xml", "offers.xml", "import.xml", "offers.xml"]


def test_the_bar_line() -> None:
    half = render_progress(Progress("upload", "import.xml", 150 * 1024, 300 * 1024), width=10)
    assert half == "upload import.xml [#####.....]  50%  150 KiB/300 KiB"
    assert render_progress(Progress("upload", "a.xml", 0, 0), width=4) == "upload a.xml [####] 100%  0 B/0 B"
    step = render_progress(Progress("import", "offers.xml", 3, None, "Обработано\n 200 предложений"))
    assert step == "import offers.xml: step 3  Обработано 200 предложений"
    assert render_progress(Progress("import", "x.xml", 4, None, "", finished=True)) == "import x.xml: done"


def test_the_bar_is_drawn_in_place_only_on_a_terminal() -> None:
    terminal = Terminal()
    bar = TerminalProgress(terminal)
    bar(Progress("upload", "import.xml", 10, 20))
    bar.print("upload import.xml (20 bytes)")
    bar(Progress("upload", "import.xml", 20, 20, finished=True))
    bar.close()
    assert terminal.getvalue() == (
        "\r\x1b[Kupload import.xml [###############...............]  50%  10 B/20 B"
        "\r\x1b[Kupload import.xml (20 bytes)\n"
        "upload import.xml [###############...............]  50%  10 B/20 B"
        "\r\x1b[Kupload import.xml [##############################] 100%  20 B/20 B"
        "\r\x1b[K"
    )
    pipe = io.StringIO()
    silent = TerminalProgress(pipe)
    silent(Progress("upload", "import.xml", 10, 20))
    silent.close()
    assert not silent.enabled and pipe.getvalue() == ""
