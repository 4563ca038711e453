"""`tuiwriter lsp` end to end: the real server in a subprocess (`python -m tuiwriter lsp`), driven
by pytest-lsp's client, answers as the editor's engine does; and bad input (unreadable JSON, wrong
parameters, unknown documents, positions outside the text, a 10 MB document, a model that cannot
load) gets an error or no items while the server keeps serving.

No timing is asserted. Where a test needs a request to still be running when the next message
arrives (cancel, a stale version, a superseded request), the request asks the tiny model to read
a megabyte or more before the cursor: tens of seconds of work, against the milliseconds a message
takes through a pipe.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import pytest_asyncio
from lsprotocol import types as t
from pygls.exceptions import JsonRpcInvalidParams, JsonRpcRequestCancelled
from pygls.workspace import PositionCodec, TextDocument
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.conftest import tiny_text
from tests.editor_helpers import install_model
from tuiwriter import __version__
from tuiwriter.lm import checkpoint
from tuiwriter.lsp import documents
from tuiwriter.lsp import model as shared_model
from tuiwriter.predict.engine import Engine
from tuiwriter.predict.experts.corpus_memory import remembered_from

module_loop = pytest.mark.asyncio(loop_scope="module")  # the loop the module's one server runs on

GUARD_S = 60.0  # a hung server fails the test instead of hanging the suite
ROOT = Path(__file__).resolve().parent.parent
READY = "suggestions come from model"
AUTOMATIC = t.InlineCompletionTriggerKind.Automatic
INVOKED = t.InlineCompletionTriggerKind.Invoked
PROMPT = "The quick brown fox jumps over the "  # the tiny model knows how this goes on


# -- starting and talking to the server ---------------------------------------------------------

def xdg_env(folder: Path) -> dict[str, str]:
    env = dict(os.environ)
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        (folder / var.lower()).mkdir(parents=True, exist_ok=True)
        env[var] = str(folder / var.lower())
    return env


async def start(args: list[str], env: dict[str, str]) -> LanguageClient:
    config = ClientServerConfig(server_command=[sys.executable, "-m", "tuiwriter", "lsp", *args], server_env=env)
    client = await config.start()
    client.init_result = await client.initialize_session(t.InitializeParams(capabilities=t.ClientCapabilities()))
    return client


async def logged(client: LanguageClient, text: str) -> str:
    """Wait for a window/logMessage containing `text`; returns it."""
    deadline = time.monotonic() + GUARD_S
    while True:
        for message in client.log_messages:
            if text in message.message:
                return message.message
        if time.monotonic() > deadline:
            raise AssertionError(f"no log message with {text!r}: {[m.message for m in client.log_messages]}")
        await asyncio.sleep(0.05)


def open_doc(client: LanguageClient, uri: str, text: str, version: int = 1) -> None:
    client.text_document_did_open(t.DidOpenTextDocumentParams(t.TextDocumentItem(uri, "markdown", version, text)))


def insert(client: LanguageClient, uri: str, version: int, line: int, col: int, text: str) -> None:
    at = t.Position(line, col)
    change = t.TextDocumentContentChangePartial(range=t.Range(at, at), text=text)
    client.text_document_did_change(t.DidChangeTextDocumentParams(t.VersionedTextDocumentIdentifier(version, uri),
                                                                  [change]))


def completion(uri: str, line: int, col: int, kind=AUTOMATIC) -> t.InlineCompletionParams:
    return t.InlineCompletionParams(t.InlineCompletionContext(kind), t.TextDocumentIdentifier(uri),
                                    t.Position(line, col))


def request(client: LanguageClient, uri: str, line: int, col: int, kind=AUTOMATIC, msg_id: str | None = None):
    """Send an inline completion request now (written before whatever is sent next); await the
    result to get the suggestions."""
    future = client.protocol.send_request(t.TEXT_DOCUMENT_INLINE_COMPLETION, completion(uri, line, col, kind),
                                          msg_id=msg_id)
    return asyncio.ensure_future(_items(asyncio.wrap_future(future), line, col))


async def suggest(client: LanguageClient, uri: str, line: int, col: int, kind=AUTOMATIC) -> list[str]:
    return await request(client, uri, line, col, kind)


async def _items(reply, line: int, col: int) -> list[str]:
    result = await asyncio.wait_for(reply, GUARD_S)
    for item in result.items:
        assert item.range == t.Range(t.Position(line, col), t.Position(line, col))  # inserted at the cursor
    return [item.insert_text for item in result.items]


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def expected(engine: Engine, text: str, cursor: int, samples: int = 1) -> list[str]:
    """What the editor's engine suggests there: the first suggestion and resamples, deduplicated."""
    found: list[str] = []
    for sample in range(samples):
        s = "".join(engine.suggest(text, cursor, sample=sample))
        if s and s not in found:
            found.append(s)
    return found


@pytest.fixture(scope="module")
def server_dirs(tmp_path_factory, tiny_checkpoint) -> dict[str, str]:
    """XDG folders for the module's shared server, with the tiny model installed as `tiny`."""
    env = xdg_env(tmp_path_factory.mktemp("lsp-xdg"))
    models = Path(env["XDG_DATA_HOME"]) / "tuiwriter" / "models" / "tiny"
    models.mkdir(parents=True)
    (models / "model.safetensors").write_bytes(tiny_checkpoint.read_bytes())
    return env


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def lsp(server_dirs) -> LanguageClient:
    """One server for the module's protocol tests (each uses its own documents), model ready."""
    client = await start(["--model", "tiny"], server_dirs)
    await logged(client, READY)
    yield client
    await client.shutdown_session()
    await client.stop()


@pytest.fixture
def engine(tiny_checkpoint) -> Engine:
    """The editor's engine on the same checkpoint, in this process: one per test, as the server
    has one per document (each learns from what is typed in it)."""
    return Engine.load(str(tiny_checkpoint))


# -- what a client sees -------------------------------------------------------------------------

@module_loop
async def test_initialize_names_the_version_and_offers_inline_completion(lsp):
    result = lsp.init_result
    assert result.server_info.name == "tuiwriter" and result.server_info.version == __version__
    assert result.capabilities.inline_completion_provider is not None
    assert result.capabilities.text_document_sync.change == t.TextDocumentSyncKind.Incremental
    assert {"tuiwriter.useModel", "tuiwriter.listModels"} <= set(result.capabilities.execute_command_provider.commands)


@module_loop
async def test_typing_character_by_character_gets_the_editors_suggestion_at_each_step(lsp, engine):
    uri = "file:///notes/typing.md"
    tail = "\n\nA later paragraph stays below the cursor.\n"
    typed = "She opened the window and the cold air came in.\nThe dog 😀 ran to the door when the bell rang.\nThe "
    open_doc(lsp, uri, tail)
    line, col, shown = 0, 0, 0
    for version, ch in enumerate(typed, start=2):
        insert(lsp, uri, version, line, col, ch)
        line, col = (line + 1, 0) if ch == "\n" else (line, col + utf16_len(ch))
        done = typed[: version - 1]
        want = expected(engine, done + tail, len(done))
        assert await suggest(lsp, uri, line, col) == want, f"after {done!r}"
        shown += bool(want)
    assert shown >= 20  # the comparison was about real suggestions, not empty answers
    lsp.text_document_did_close(t.DidCloseTextDocumentParams(t.TextDocumentIdentifier(uri)))


@module_loop
async def test_invoked_gives_the_suggestion_and_its_resamples_to_cycle_automatic_the_first(lsp, engine):
    uri = "file:///notes/cycle.md"
    open_doc(lsp, uri, PROMPT)
    invoked = await suggest(lsp, uri, 0, len(PROMPT), INVOKED)
    assert invoked == expected(engine, PROMPT, len(PROMPT), samples=documents.INVOKED_SAMPLES)
    assert len(invoked) >= 3 and len(set(invoked)) == len(invoked)
    assert await suggest(lsp, uri, 0, len(PROMPT), AUTOMATIC) == invoked[:1]


@module_loop
async def test_a_suggestion_ending_the_line_inserts_the_line_break(lsp, engine):
    """The editor shows a line end as a glyph and Tab inserts a newline: insertText has it."""
    uri = "file:///notes/line-end.md"
    text = "The dog ran to the door\nThe cat sat on the mat\nThe dog ran to the do"  # the line ended there before
    open_doc(lsp, uri, text)
    got = await suggest(lsp, uri, 2, len("The dog ran to the do"))
    assert got == expected(engine, text, len(text))
    assert got and got[0].endswith("\n")


@module_loop
async def test_no_ghost_inside_a_line_as_in_the_editor(lsp):
    uri = "file:///notes/inside.md"
    open_doc(lsp, uri, PROMPT + "lazy dog.")
    assert await suggest(lsp, uri, 0, len(PROMPT)) == []
    assert await suggest(lsp, uri, 0, len(PROMPT + "lazy dog.")) != []


@module_loop
async def test_two_documents_keep_their_own_text_and_state(lsp, engine):
    a, b = "file:///notes/a.md", "file:///notes/b.md"
    text_a, text_b = "The cat sat on the ", "A writer writes every "
    open_doc(lsp, a, text_a)
    open_doc(lsp, b, text_b)
    engine_a, engine_b = engine.sibling(), engine.sibling()  # one each, as the server keeps
    for round_ in range(3):
        assert await suggest(lsp, a, 0, len(text_a)) == expected(engine_a, text_a, len(text_a))
        assert await suggest(lsp, b, 0, len(text_b)) == expected(engine_b, text_b, len(text_b))
        insert(lsp, a, round_ + 2, 0, len(text_a), "x")
        text_a += "x"
    lsp.text_document_did_close(t.DidCloseTextDocumentParams(t.TextDocumentIdentifier(a)))
    assert await suggest(lsp, a, 0, len(text_a)) == []  # closed: unknown now
    assert await suggest(lsp, b, 0, len(text_b)) == expected(engine_b, text_b, len(text_b))


@module_loop
async def test_a_cancelled_request_gets_no_suggestion(lsp):
    uri = "file:///notes/long-cancel.md"
    text = tiny_text(4000)  # about 600,000 characters before the cursor: long to read
    open_doc(lsp, uri, text)
    cancelled = request(lsp, uri, text.count("\n"), 0, msg_id="cancel-me")
    lsp.cancel_request(t.CancelParams(id="cancel-me"))
    with pytest.raises(JsonRpcRequestCancelled):
        await cancelled
    lsp.text_document_did_close(t.DidCloseTextDocumentParams(t.TextDocumentIdentifier(uri)))
    assert await suggest(lsp, "file:///notes/cycle.md", 0, len(PROMPT)) != []  # still serving


@module_loop
async def test_a_request_for_a_version_that_changed_meanwhile_gets_no_suggestion(lsp, engine):
    uri = "file:///notes/long-stale.md"
    text = tiny_text(4000)
    end = text.count("\n")
    open_doc(lsp, uri, text)
    stale = request(lsp, uri, end, 0)
    insert(lsp, uri, 2, end, 0, "The ")
    assert await stale == []
    lsp.text_document_did_close(t.DidCloseTextDocumentParams(t.TextDocumentIdentifier(uri)))


@module_loop
async def test_a_newer_request_supersedes_an_older_one(lsp, engine):
    long_uri, short_uri = "file:///notes/long-old.md", "file:///notes/short-new.md"
    text = tiny_text(4000)
    open_doc(lsp, long_uri, text)
    open_doc(lsp, short_uri, PROMPT)
    old = request(lsp, long_uri, text.count("\n"), 0)
    assert await suggest(lsp, short_uri, 0, len(PROMPT)) == expected(engine, PROMPT, len(PROMPT))
    assert await old == []
    lsp.text_document_did_close(t.DidCloseTextDocumentParams(t.TextDocumentIdentifier(long_uri)))


# -- bad input ----------------------------------------------------------------------------------

@module_loop
async def test_unknown_documents_and_positions_outside_the_text_get_no_items(lsp, engine):
    uri = "file:///notes/positions.md"
    text = PROMPT + "\nsecond line\n"
    open_doc(lsp, uri, text)
    assert await suggest(lsp, "file:///never/opened.md", 0, 0) == []
    assert await suggest(lsp, uri, 50, 0) == []  # a line past the end
    assert await suggest(lsp, uri, 0, 999) == []  # a column past the end of its line
    assert await suggest(lsp, uri, 1, 12) == []  # one past "second line"
    insert(lsp, "file:///never/opened.md", 2, 0, 0, "x")  # a change to nothing: logged, ignored
    await logged(lsp, "never/opened.md")
    assert await suggest(lsp, uri, 2, 0) == expected(engine, text, len(text))  # the empty last line is fine
    assert await suggest(lsp, uri, 0, len(PROMPT)) == expected(engine, text, len(PROMPT))


@module_loop
async def test_a_10_mb_document_is_served(lsp, engine):
    uri = "file:///notes/huge.md"
    filler = tiny_text(1)
    text = "\n" + filler * (10_000_000 // len(filler))
    assert len(text) >= 9_900_000
    open_doc(lsp, uri, text)
    insert(lsp, uri, 2, 0, 0, PROMPT)
    text = PROMPT + text
    assert await suggest(lsp, uri, 0, len(PROMPT)) == expected(engine, text, len(PROMPT))
    # At its end, 10 MB must be read first: the next request (elsewhere) takes the thread over.
    far = request(lsp, uri, text.count("\n"), 0)
    assert await suggest(lsp, "file:///notes/cycle.md", 0, len(PROMPT)) == expected(engine, PROMPT, len(PROMPT))
    assert await far == []
    lsp.text_document_did_close(t.DidCloseTextDocumentParams(t.TextDocumentIdentifier(uri)))


@module_loop
async def test_a_document_config_turns_suggestions_off_for_gets_no_items(lsp, engine):
    """The default suggestions_off: a .env file gets nothing, even when asked by a key, and
    the same text under another name gets the editor's suggestion."""
    for name in ("deploy.env", ".env", ".env.local", "sales.csv"):
        uri = f"file:///notes/{name}"
        open_doc(lsp, uri, PROMPT)
        assert await suggest(lsp, uri, 0, len(PROMPT)) == []
        assert await suggest(lsp, uri, 0, len(PROMPT), INVOKED) == []
        insert(lsp, uri, 2, 0, len(PROMPT), "lazy ")  # typing on changes nothing
        assert await suggest(lsp, uri, 0, len(PROMPT + "lazy ")) == []
    await logged(lsp, "suggestions_off has *.env")
    open_doc(lsp, "file:///notes/deploy.md", PROMPT)
    assert await suggest(lsp, "file:///notes/deploy.md", 0, len(PROMPT)) == expected(engine, PROMPT, len(PROMPT))


@module_loop
async def test_suggestions_off_comes_from_config_toml(tiny_checkpoint, engine):
    env = dict(os.environ)  # the test's own XDG folders (conftest)
    install_model(tiny_checkpoint, "tiny")
    config = Path(env["XDG_CONFIG_HOME"]) / "tuiwriter" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('suggestions_off = ["*/private/*", "*.MD"]\n')
    client = await start(["--model", "tiny"], env)
    try:
        await logged(client, READY)
        want = expected(engine, PROMPT, len(PROMPT))
        assert want
        for uri, items in [("file:///notes/private/plan.txt", []), ("file:///notes/chapter%201.md", []),
                           ("untitled:Untitled-1.md", []), ("file:///notes/deploy.env", want),  # the list replaces the defaults
                           ("file:///notes/plan.txt", want)]:
            open_doc(client, uri, PROMPT)
            assert await suggest(client, uri, 0, len(PROMPT)) == items, uri
        await client.shutdown_session()
    finally:
        await client.stop()


@module_loop
async def test_a_model_that_fails_to_load_leaves_a_server_that_serves_and_can_switch(tmp_path, tiny_checkpoint,
                                                                                     engine):
    env = dict(os.environ)  # the test's own XDG folders (conftest)
    install_model(tiny_checkpoint, "tiny")
    garbage = tmp_path / "broken.safetensors"
    garbage.write_bytes(b"this is not a checkpoint" * 100)
    client = await start(["--model", str(garbage)], env)
    try:
        reason = await logged(client, "no suggestions: cannot load")
        assert "\n" not in reason and str(garbage) in reason
        uri = "file:///notes/after-failure.md"
        open_doc(client, uri, PROMPT)
        assert await suggest(client, uri, 0, len(PROMPT)) == []
        with pytest.raises(JsonRpcInvalidParams, match="no model named 'nope'"):
            await client.workspace_execute_command_async(t.ExecuteCommandParams("tuiwriter.useModel", ["nope"]))
        switched = await client.workspace_execute_command_async(t.ExecuteCommandParams("tuiwriter.useModel", ["tiny"]))
        assert switched == {"model": "tiny"}
        assert await suggest(client, uri, 0, len(PROMPT)) == expected(engine, PROMPT, len(PROMPT))
        assert 'model = "tiny"' in (Path(env["XDG_CONFIG_HOME"]) / "tuiwriter" / "config.toml").read_text()
        models = await client.workspace_execute_command_async(t.ExecuteCommandParams("tuiwriter.listModels"))
        assert {m["name"]: m["inUse"] for m in models} == {"default": False, "tiny": True}
        with pytest.raises(JsonRpcInvalidParams, match="cannot load"):  # a bad switch keeps the model
            await client.workspace_execute_command_async(t.ExecuteCommandParams("tuiwriter.useModel",
                                                                                [str(garbage)]))
        assert await suggest(client, uri, 0, len(PROMPT)) == expected(engine, PROMPT, len(PROMPT))
        await client.shutdown_session()
    finally:
        await client.stop()


class RawServer:
    """`tuiwriter lsp` in a plain subprocess, written to byte by byte (no client library to
    tidy the input); replies are read into a queue by a thread."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "tuiwriter", "lsp", *args], cwd=ROOT, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.replies: list[dict] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        out = self.proc.stdout
        while True:
            length = None
            while (line := out.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if not line or length is None:
                return
            self.replies.append(json.loads(out.read(length)))

    def write(self, body: bytes) -> None:
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def send(self, message: dict) -> None:
        self.write(json.dumps({"jsonrpc": "2.0", **message}).encode())

    def expect(self, test) -> dict:
        """The first reply so far (or to come) that passes `test`."""
        deadline = time.monotonic() + GUARD_S
        while time.monotonic() < deadline:
            for reply in list(self.replies):
                if test(reply):
                    return reply
            time.sleep(0.05)
        raise AssertionError(f"no such reply from the server; got {self.replies}")


def test_malformed_messages_are_answered_or_ignored_and_the_server_keeps_serving(server_dirs, engine):
    server = RawServer(["--model", "tiny"], server_dirs)
    try:
        server.send({"id": 1, "method": "initialize", "params": {"capabilities": {}}})
        assert server.expect(lambda r: r.get("id") == 1)["result"]["serverInfo"]["version"] == __version__
        server.send({"method": "initialized", "params": {}})
        server.write(b"{this is not json")
        server.write(b"\xff\xfe not utf-8")
        server.write(b"[1, 2, 3]")
        server.write(b'{"jsonrpc": "2.0", "id": 2, "method": "textDocument/inlineCompletion", "params": {"x": 1}}')
        assert server.expect(lambda r: r.get("id") == 2)["error"]["code"] == JsonRpcInvalidParams.CODE
        server.send({"id": 3, "method": "no/suchMethod", "params": {}})
        assert "error" in server.expect(lambda r: r.get("id") == 3)
        server.expect(lambda r: READY in r.get("params", {}).get("message", ""))
        uri = "file:///notes/raw.md"
        server.send({"method": "textDocument/didOpen",
                     "params": {"textDocument": {"uri": uri, "languageId": "markdown", "version": 1, "text": PROMPT}}})
        server.send({"id": 4, "method": "textDocument/inlineCompletion",
                     "params": {"textDocument": {"uri": uri}, "position": {"line": 0, "character": len(PROMPT)},
                                "context": {"triggerKind": 2}}})
        items = server.expect(lambda r: r.get("id") == 4)["result"]["items"]
        assert [i["insertText"] for i in items] == expected(engine, PROMPT, len(PROMPT)) != []
        server.send({"id": 5, "method": "shutdown"})
        server.expect(lambda r: r.get("id") == 5)
        server.send({"method": "exit"})
        server.proc.stdin.close()
        assert server.proc.wait(GUARD_S) == 0
        assert b"Traceback" not in server.proc.stderr.read()
    finally:
        server.proc.kill()
        server.proc.wait()


# -- the parts, in this process -----------------------------------------------------------------

def test_positions_are_client_units_and_must_lie_in_the_document():
    doc = TextDocument("file:///x.md", "a😀b\r\nsecond\nlast\n")
    pos = t.Position
    assert documents.offset_at(doc, pos(0, 3)) == 2  # after the emoji: 3 UTF-16 units, 2 characters
    assert documents.offset_at(doc, pos(0, 4)) == 3  # end of the first line (before \r\n)
    assert documents.offset_at(doc, pos(0, 5)) is None
    assert documents.offset_at(doc, pos(1, 6)) == len("a😀b\r\nsecond")
    assert documents.offset_at(doc, pos(3, 0)) == len(doc.source)  # the empty line after the last break
    assert documents.offset_at(doc, pos(3, 1)) is None
    assert documents.offset_at(doc, pos(4, 0)) is None
    assert documents.offset_at(TextDocument("file:///e.md", ""), pos(0, 0)) == 0
    utf8 = TextDocument("file:///u.md", "café 😀 x", position_codec=PositionCodec(t.PositionEncodingKind.Utf8))
    assert documents.offset_at(utf8, pos(0, 6)) == 5  # Neovim offers UTF-8 first: "é" is 2 bytes
    assert documents.offset_at(utf8, pos(0, 11)) == 7
    assert documents.offset_at(TextDocument("file:///n.md", "no break"), pos(1, 0)) is None


def test_documents_share_the_predictor_and_corpus_memory_yet_suggest_as_a_fresh_engine(tmp_path, tiny_checkpoint):
    """A model with a corpus memory: a second document's engine reuses the first's memory (no
    second suffix array) and its predictor, and suggests exactly what a fresh engine does."""
    ck = checkpoint.load(tiny_checkpoint)
    memory = tiny_text(5) + "Remember the quartermaster of Zanzibar and his xylophone.\n" * 3
    path = tmp_path / "remembering.safetensors"
    checkpoint.save(path, ck.build_model(), ck.vocab, ck.training, memory=remembered_from([memory], ck.vocab))
    loaded, _ = shared_model.load(str(path))
    first, second = loaded.engine_for_document(), loaded.engine_for_document()
    assert second is not first and second.predictor is first.predictor
    mine, theirs = [e for _, e in second.experts][0], [e for _, e in first.experts][0]
    assert mine is not theirs and mine.memory is theirs.memory  # each document counted apart, one suffix array
    fresh = Engine.load(str(path))
    forgetful = Engine.load(str(tiny_checkpoint))
    texts = ["Remember the quarter", "his xylo", PROMPT, "The cat sat on the "]
    for text in texts:
        assert expected(second, text, len(text), samples=2) == expected(fresh, text, len(text), samples=2)
    assert any(expected(fresh, x, len(x)) != expected(forgetful, x, len(x)) for x in texts)  # memory mattered


def test_the_server_module_starts_without_torch():
    """`initialize` is answered before the model (and torch) load."""
    code = "import sys, tuiwriter.cli.main, tuiwriter.lsp.server; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.stdout.strip() == "False", out.stderr
