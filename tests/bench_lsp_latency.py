"""Inline completion latency through the protocol, against the engine's own, on a typed paragraph.

    python tests/bench_lsp_latency.py [--model default] [--text FILE] [--chars 600]
                                      [--transcript PATH]

Starts the real `python -m tuiwriter lsp --model M` and drives it with pygls's client: opens an
empty document, then types the paragraph one character at a time, each a `didChange` followed by
an `Automatic` inline completion request, and times each request from being written to its
response being read (the client's view: JSON, the pipe, pygls, the engine). Then, in this
process, the same engine on the same checkpoint gets the same sequence of texts and cursors, and
each `suggest` is timed to its end. Prints p50/p99 of both. With --transcript, also records a
short session (initialize, didOpen, didChange, inline completions with items, a cancelled
request, shutdown) as the JSON messages each side sent, to PATH.

Not a test: timings on a shared machine are noise. Private XDG folders under a temp dir, so
config.toml defaults apply to both sides.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types as t
from pygls.lsp.client import LanguageClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # measure this checkout, as the server subprocess (run from ROOT) is

from tuiwriter.bench.evaluate import percentile  # noqa: E402

PARAGRAPH = (
    "On Tuesday morning I walked down to the harbour before the shops opened. The boats were still "
    "tied up, and a man was painting the side of a small blue one while his dog slept on the quay. "
    "I asked him how long the work would take, and he said that it depended on the weather and on "
    "how much coffee there was in the flask. We talked for a while about the town, the price of fish "
    "and the new road that nobody wanted, and then I went back up the hill to write it all down."
)
GUARD_S = 120.0


class Transcript:
    """The JSON messages of a session, both ways; long strings (a document's text) shortened."""

    def __init__(self) -> None:
        self.messages: list[dict] = []

    def add(self, direction: str, message: dict) -> None:
        self.messages.append({"direction": direction, "message": _shorten(copy.deepcopy(message))})

    def attach(self, client: LanguageClient) -> None:
        """Record what `client` writes and what it reads (pygls builds each message with
        `structure_message`, the outermost dict, holding "jsonrpc", last)."""
        protocol = client.protocol
        writer, structure = protocol.writer, protocol.structure_message
        recorder = self

        class Tee:
            def write(self, data: bytes):
                recorder.add("client->server", json.loads(data.split(b"\r\n\r\n", 1)[1]))
                return writer.write(data)

            def close(self):
                return writer.close()

        def structure_and_record(data: dict):
            if "jsonrpc" in data:
                recorder.add("server->client", data)
            return structure(data)

        protocol.writer = Tee()
        protocol.structure_message = structure_and_record


def _shorten(value):
    if isinstance(value, str) and len(value) > 160:
        return f"{value[:60]}… ({len(value):,} characters)"
    if isinstance(value, dict):
        return {k: _shorten(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shorten(v) for v in value]
    return value


async def start(model: str, env: dict[str, str], transcript: Transcript | None = None) -> LanguageClient:
    client = LanguageClient("bench-lsp-latency", "1")
    ready = asyncio.get_running_loop().create_future()

    @client.feature(t.WINDOW_LOG_MESSAGE)
    def on_log(params: t.LogMessageParams) -> None:
        if "suggestions come from" in params.message and not ready.done():
            ready.set_result(None)
        elif "cannot load" in params.message and not ready.done():
            ready.set_exception(RuntimeError(params.message))

    await client.start_io(sys.executable, "-m", "tuiwriter", "lsp", "--model", model, env=env, cwd=str(ROOT))
    if transcript:
        transcript.attach(client)
    await client.initialize_async(t.InitializeParams(capabilities=t.ClientCapabilities(), process_id=os.getpid()))
    client.initialized(t.InitializedParams())
    await asyncio.wait_for(ready, GUARD_S)
    return client


async def stop(client: LanguageClient) -> None:
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()


def change(uri: str, version: int, line: int, col: int, text: str) -> t.DidChangeTextDocumentParams:
    at = t.Position(line, col)
    return t.DidChangeTextDocumentParams(t.VersionedTextDocumentIdentifier(version, uri),
                                         [t.TextDocumentContentChangePartial(range=t.Range(at, at), text=text)])


def ask(uri: str, line: int, col: int, kind=t.InlineCompletionTriggerKind.Automatic) -> t.InlineCompletionParams:
    return t.InlineCompletionParams(t.InlineCompletionContext(kind), t.TextDocumentIdentifier(uri),
                                    t.Position(line, col))


async def protocol_latency(model: str, text: str, env: dict[str, str]) -> tuple[list[float], int]:
    """ms per request while typing `text` (one line: no line breaks); and how many had items."""
    client = await start(model, env)
    uri = "file:///bench/paragraph.md"
    client.text_document_did_open(t.DidOpenTextDocumentParams(t.TextDocumentItem(uri, "markdown", 1, "")))
    times, shown = [], 0
    for i, ch in enumerate(text):
        client.text_document_did_change(change(uri, i + 2, 0, i, ch))
        began = time.perf_counter()
        result = await asyncio.wait_for(client.text_document_inline_completion_async(ask(uri, 0, i + 1)), GUARD_S)
        times.append((time.perf_counter() - began) * 1000)
        shown += bool(result.items)
    await stop(client)
    return times, shown


def engine_latency(model: str, text: str) -> tuple[list[float], int]:
    """ms per `Engine.suggest` (to its end) on the same texts, in this process."""
    import torch

    from tuiwriter import settings
    from tuiwriter.predict.engine import Engine
    from tuiwriter.predict.policy import SuggestConfig

    torch.set_num_threads(1)
    engine = Engine.load(model, SuggestConfig.from_settings(settings.load()[0]))
    times, shown = [], 0
    for i in range(1, len(text) + 1):
        began = time.perf_counter()
        suggestion = "".join(engine.suggest(text[:i], i))
        times.append((time.perf_counter() - began) * 1000)
        shown += bool(suggestion)
    return times, shown


async def record_session(model: str, env: dict[str, str], path: Path) -> None:
    """A short real session, as JSON both ways: typing, suggestions, a cancel, shutdown."""
    transcript = Transcript()
    client = await start(model, env, transcript)
    uri = "file:///notes/garden.md"
    first = "She opened the door and walked into the "
    client.text_document_did_open(t.DidOpenTextDocumentParams(t.TextDocumentItem(uri, "markdown", 1, first)))
    for i, ch in enumerate("gar"):
        client.text_document_did_change(change(uri, i + 2, 0, len(first) + i, ch))
        await client.text_document_inline_completion_async(ask(uri, 0, len(first) + i + 1))
    await client.text_document_inline_completion_async(
        ask(uri, 0, len(first) + 3, t.InlineCompletionTriggerKind.Invoked))
    long_uri = "file:///notes/long.md"
    long_text = (PARAGRAPH + "\n") * 60  # far more to read than a cancel takes to arrive
    client.text_document_did_open(t.DidOpenTextDocumentParams(t.TextDocumentItem(long_uri, "markdown", 1, long_text)))
    pending = client.protocol.send_request(t.TEXT_DOCUMENT_INLINE_COMPLETION, ask(long_uri, 60, 0), msg_id="slow-1")
    client.cancel_request(t.CancelParams(id="slow-1"))
    try:
        await asyncio.wait_for(asyncio.wrap_future(pending), GUARD_S)
    except Exception as exc:  # noqa: BLE001 - the cancelled request's error is the point
        print(f"cancelled request answered: {type(exc).__name__}: {exc}")
    await stop(client)
    path.write_text(json.dumps(transcript.messages, indent=1, ensure_ascii=False) + "\n")
    print(f"transcript: {len(transcript.messages)} messages -> {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--text", type=Path, help="type this file's text (default: a built-in paragraph)")
    parser.add_argument("--chars", type=int, default=600, help="type at most this many characters")
    parser.add_argument("--transcript", type=Path, help="also record a short session's JSON to this file")
    args = parser.parse_args()
    text = args.text.read_text(encoding="utf-8") if args.text else PARAGRAPH
    text = " ".join(text.split())[: args.chars]  # one line: positions stay on line 0
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ)
        for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
            env[var] = os.environ[var] = str(Path(home) / var.lower())
        served, served_shown = asyncio.run(protocol_latency(args.model, text, env))
        direct, direct_shown = engine_latency(args.model, text)
        print(f"model {args.model}, {len(text)} characters typed, one request after each "
              f"(load average {os.getloadavg()[0]:.2f})")
        for name, times, shown in (("through the protocol", served, served_shown),
                                   ("engine.suggest in-process", direct, direct_shown)):
            print(f"  {name:26} p50 {percentile(times, 50):6.2f} ms   p99 {percentile(times, 99):6.2f} ms   "
                  f"max {max(times):6.2f} ms   ({shown} with a suggestion)")
        if args.transcript:
            asyncio.run(record_session(args.model, env, args.transcript))


if __name__ == "__main__":
    main()
