"""The language server: pygls speaks the protocol (stdio, JSON-RPC, incremental document sync);
the functions here are its features, the server object holds what they share.

- `initialize` answers at once (server info with the version, the capabilities) and starts
  loading the model in a thread; until it is ready, and when it cannot load, requests get no
  items (never a wait).
- A document whose name matches config.toml's `suggestions_off` patterns (read at
  `initialize`) gets no items and is never read ahead.
- `textDocument/inlineCompletion` computes on the inference thread and answers with the
  editor's suggestion at the cursor: the first one for an `Automatic` request, that and up to
  three resamples for an `Invoked` one. Stale, superseded or cancelled work gets no items (a
  `$/cancelRequest` answers with pygls's RequestCancelled error).
- `workspace/executeCommand`: `tuiwriter.useModel [SPEC]` switches model (and remembers it in
  config.toml, as the editor's model dialog does), `tuiwriter.listModels` lists them.

Logs go to the client as `window/logMessage`; stdout is the protocol, so nothing else may write
there. Bad input (unreadable JSON, wrong parameters, unknown documents, positions outside the
text, huge documents) is answered with an error or no items, and the server keeps serving.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from typing import Any

from lsprotocol import types
from pygls.exceptions import FeatureRequestError, JsonRpcException, JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol

from tuiwriter import __version__, settings
from tuiwriter.lsp import documents
from tuiwriter.lsp import model as shared_model
from tuiwriter.lsp.documents import INVOKED_SAMPLES, OpenDocument
from tuiwriter.lsp.inference import InferenceThread, Ticket

log = logging.getLogger("tuiwriter.lsp")

USE_MODEL = "tuiwriter.useModel"
LIST_MODELS = "tuiwriter.listModels"
MAX_LOG_CHARS = 500  # a log line quoting a huge message is cut


class Protocol(LanguageServerProtocol):
    """pygls's protocol, plus an answer to a request whose parameters do not fit its method:
    pygls drops such a message, which would leave the client waiting for a reply forever."""

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            if "id" in data and "method" in data:
                self._send_response(data["id"], error=exc.to_response_error())
            raise


class TuiwriterServer(LanguageServer):
    """The state the features share. Everything here is touched on the event loop, except
    what the inference and loader threads are handed (see `inference`)."""

    def __init__(self, model_spec: str | None) -> None:
        super().__init__("tuiwriter", __version__, protocol_cls=Protocol,
                         text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.model_spec = model_spec  # None: the active model in config.toml
        self.model: shared_model.SharedModel | None = None
        self.documents: dict[str, OpenDocument] = {}
        self.inference = InferenceThread()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.closing = False  # shutdown was asked for
        self._loop_thread: int | None = None
        self._loads = 0  # the latest load wins
        self._latest: Ticket | None = None  # the newest inline completion request's
        self._pending = 0  # requests waiting for the inference thread
        self._active: OpenDocument | None = None  # the document to read ahead when idle
        self.off_patterns: list[str] = []  # config.toml's suggestions_off, read at initialize

    def on_loop(self) -> asyncio.AbstractEventLoop:
        """The event loop the protocol runs on (called on it: from `initialize` or a command)."""
        if self.loop is None:
            self.loop, self._loop_thread = asyncio.get_running_loop(), threading.get_ident()
        return self.loop

    # -- logging to the client ----------------------------------------------------------------

    def log_to_client(self, kind: types.MessageType, message: str) -> None:
        """`window/logMessage`, sent from the event loop whichever thread logs; stderr before
        the loop runs or after it ended."""
        loop = self.loop
        params = types.LogMessageParams(type=kind, message=message)
        if loop is None:
            print(f"tuiwriter lsp: {message}", file=sys.stderr)
        elif threading.get_ident() == self._loop_thread:
            self.window_log_message(params)
        else:
            try:
                loop.call_soon_threadsafe(self.window_log_message, params)
            except RuntimeError:  # the loop has closed
                print(f"tuiwriter lsp: {message}", file=sys.stderr)

    def report_server_error(self, error: Exception, source: Any) -> None:
        """Errors no response carries (unreadable messages, failed notifications): a log line,
        not pygls's default pop-up."""
        if source is FeatureRequestError:
            return  # the error response says it
        log.error("ignored a message: %s: %s", type(error).__name__, error)

    # -- the model ------------------------------------------------------------------------------

    def load_model(self, spec: str | None, remember: bool = False) -> asyncio.Future[shared_model.SharedModel]:
        """Load `spec` in a daemon thread (torch is imported there, not on the event loop);
        the current model keeps serving until the new one is ready. The future resolves on
        the event loop with the loaded model, or fails with a one-line reason."""
        loop = self.on_loop()
        self._loads += 1
        seq = self._loads
        done: asyncio.Future[shared_model.SharedModel] = loop.create_future()

        def run() -> None:
            try:
                loaded, warning = shared_model.load(spec)
            except Exception as exc:  # noqa: BLE001 - any failure is a log line, never a crash
                reason = (str(exc).splitlines() or [type(exc).__name__])[0]
                loop.call_soon_threadsafe(self._model_failed, seq, spec, reason, done)
                return
            loaded.warm_up()  # torch's first step in the process, here rather than in a keystroke's
            if warning:
                log.warning("%s", warning)
            if remember:
                _remember(loaded.spec)
            loop.call_soon_threadsafe(self._model_loaded, seq, loaded, done)

        threading.Thread(target=run, name="tuiwriter-load-model", daemon=True).start()
        return done

    def _model_loaded(self, seq: int, loaded: shared_model.SharedModel, done: asyncio.Future) -> None:
        if seq == self._loads:
            self.model = loaded
            log.info("suggestions come from model %r", loaded.name)
            self.inference.submit(loaded.warm_up)  # and the inference thread's first step
            self._read_ahead()
        done.set_result(loaded)

    def _model_failed(self, seq: int, spec: str | None, reason: str, done: asyncio.Future) -> None:
        what = repr(spec) if spec else "the active model"
        if self.model is not None:
            log.error("kept model %r: cannot load %s: %s", self.model.name, what, reason)
        elif seq == self._loads:
            log.error("no suggestions: cannot load %s: %s", what, reason)
        done.set_exception(JsonRpcInvalidParams(f"cannot load model {what}: {reason}"))

    # -- suggestions ------------------------------------------------------------------------------

    async def complete(self, params: types.InlineCompletionParams) -> list[types.InlineCompletionItem]:
        """The items for one inline completion request (see the module docstring). Everything up
        to the first `await` runs before pygls reads the next message, so the text and version
        taken here are the ones the request was sent against."""
        doc = self.documents.get(params.text_document.uri)
        model = self.model
        if doc is None or doc.off or model is None or self.closing:
            return []
        self._active = doc
        source = doc.text
        offset = documents.offset_at(source, params.position)
        if offset is None:
            return []
        text, version = source.source, source.version
        if not documents.suggestion_allowed(text, offset):
            return []
        invoked = params.context.trigger_kind == types.InlineCompletionTriggerKind.Invoked
        samples = INVOKED_SAMPLES if invoked else 1
        ticket = Ticket(lambda: not (self.closing or doc.closed) and source.version == version and self.model is model)
        if self._latest is not None:
            self._latest.dropped = True
        self._latest = ticket
        self._pending += 1
        try:
            job = self.inference.submit(lambda: self._suggest(doc, model, text, offset, samples, ticket))
            found = await asyncio.wrap_future(job)
        except asyncio.CancelledError:
            ticket.dropped = True  # `$/cancelRequest`: the thread stops at its next check
            raise
        finally:
            self._pending -= 1
        if ticket.stale():
            return []
        self._read_ahead(cursor=offset)
        here = params.position
        return [types.InlineCompletionItem(insert_text=s, range=types.Range(start=here, end=here)) for s in found]

    def _suggest(self, doc: OpenDocument, model: shared_model.SharedModel, text: str, offset: int,
                 samples: int, ticket: Ticket) -> list[str]:
        """Inference thread: the suggestions, or none if the engine fails (logged)."""
        if ticket.stale():
            return []
        try:
            return documents.suggestions(doc.engine(model), text, offset, samples, ticket.stale)
        except Exception:  # noqa: BLE001 - a model failure must not end the server
            log.exception("no suggestion for %s", doc.uri)
            return []

    def _read_ahead(self, cursor: int | None = None) -> None:
        """When the inference thread is idle, let the active document's engine read all of it
        once (as the editor does), so the first suggestion after a jump far down is quick, and
        after a suggestion, bring every chain typing on from `cursor` will need up to it (a key
        steps the active one alone: `state_cache`). Any request preempts it; what was read is
        kept, and the next idle moment goes on."""
        doc, model = self._active, self.model
        if doc is None or model is None or (doc.read_through(model) and cursor is None):
            return  # (no job, no thread to wake)
        text, version = doc.text.source, doc.text.version

        def cancelled() -> bool:
            return (self._pending > 0 or self._active is not doc or doc.closed or self.closing
                    or doc.text.version != version or self.model is not model)

        def job() -> None:
            if cancelled():
                return
            engine = doc.engine(model)
            try:
                if not doc.prepared:
                    engine.prepare(text, cancelled=cancelled)
                    doc.prepared = not cancelled()
                if cursor is not None and cursor <= len(text) and not cancelled():
                    engine.prepare(text, cursor, cancelled=cancelled)
            except Exception:  # noqa: BLE001 - reading ahead is optional
                log.exception("could not read %s ahead", doc.uri)

        self.inference.submit(job)

    # -- documents ------------------------------------------------------------------------------

    def opened(self, uri: str) -> None:
        previous = self.documents.get(uri)
        if previous is not None:  # opened again without a close: the old state is gone
            previous.closed = True
        doc = self.documents[uri] = OpenDocument(uri, self.workspace.get_text_document(uri))
        doc.off = settings.off_pattern(self.off_patterns, documents.uri_path(uri))
        if doc.off:
            log.info("no suggestions for %s: config.toml's suggestions_off has %s", uri, doc.off)
            return
        self._active = doc
        self._read_ahead()

    def closed(self, uri: str) -> None:
        doc = self.documents.pop(uri, None)
        if doc is not None:
            doc.closed = True
            if self._active is doc:
                self._active = None


def _remember(spec: str) -> None:
    """Make `spec` the active model in config.toml (loader thread), as `tuiwriter models --use`
    and the editor's model dialog do."""
    from tuiwriter.lm import store

    try:
        settings.remember({"model": store.canonical(spec)})
    except Exception as exc:  # noqa: BLE001 - the switch worked; only remembering it failed
        log.warning("could not remember the model in config.toml: %s", exc)


# -- features (pygls passes the server as `ls`) --------------------------------------------------

def initialize(ls: TuiwriterServer, params: types.InitializeParams) -> None:
    ls.on_loop()
    current, _ = settings.load()  # a broken file: the defaults (the model loader logs why)
    ls.off_patterns = current.suggestions_off
    loading = ls.load_model(ls.model_spec)
    loading.add_done_callback(lambda f: f.exception())  # a failure is logged; nobody awaits this one


def shutdown(ls: TuiwriterServer, params: None) -> None:
    ls.closing = True  # every ticket goes stale; the threads stop at their next check


def did_open(ls: TuiwriterServer, params: types.DidOpenTextDocumentParams) -> None:
    ls.opened(params.text_document.uri)


def did_close(ls: TuiwriterServer, params: types.DidCloseTextDocumentParams) -> None:
    ls.closed(params.text_document.uri)


async def inline_completion(ls: TuiwriterServer, params: types.InlineCompletionParams) -> types.InlineCompletionList:
    return types.InlineCompletionList(items=await ls.complete(params))


async def use_model(ls: TuiwriterServer, spec: str | None = None) -> dict[str, str]:
    """`tuiwriter.useModel [SPEC]`: switch every document to SPEC (a model name, `default` or a
    checkpoint path; without one, the active model in config.toml, e.g. one just trained in the
    editor) and make it the active model. Answers when it is ready, or with an error saying why
    it cannot load (the current model then stays)."""
    loaded = await ls.load_model(spec, remember=True)
    return {"model": loaded.name}


async def list_models(ls: TuiwriterServer) -> list[dict[str, Any]]:
    """`tuiwriter.listModels`: the models `tuiwriter models` lists, and which one is in use."""

    def read() -> list[Any]:
        from tuiwriter.lm import store

        return store.list_models()

    rows = await asyncio.to_thread(read)
    in_use = ls.model.spec if ls.model else None
    return [{"name": m.name, "inUse": m.name == in_use, "parameters": m.params, "valBitsPerChar": m.val_bpc,
             "trainedOn": m.trained_on, "when": m.when, "error": m.error} for m in rows]


def create_server(model_spec: str | None = None) -> TuiwriterServer:
    server = TuiwriterServer(model_spec)
    server.feature(types.INITIALIZE)(initialize)
    server.feature(types.SHUTDOWN)(shutdown)
    server.feature(types.TEXT_DOCUMENT_DID_OPEN)(did_open)
    server.feature(types.TEXT_DOCUMENT_DID_CLOSE)(did_close)
    server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())(inline_completion)
    server.command(USE_MODEL)(use_model)
    server.command(LIST_MODELS)(list_models)
    return server


# -- running ------------------------------------------------------------------------------------

class OneLine(logging.Formatter):
    """A record as one line: its message's first line (pygls puts tracebacks in some), an
    exception as its type and message, cut at MAX_LOG_CHARS."""

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage().split("\n", 1)[0]
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            text += f": {type(exc).__name__}: {exc}"
        return text if len(text) <= MAX_LOG_CHARS else text[: MAX_LOG_CHARS - 1] + "…"


class ClientLog(logging.Handler):
    """Log records as `window/logMessage` notifications."""

    KINDS = ((logging.ERROR, types.MessageType.Error), (logging.WARNING, types.MessageType.Warning),
             (logging.INFO, types.MessageType.Info))

    def __init__(self, server: TuiwriterServer) -> None:
        super().__init__(logging.INFO)
        self.server = server
        self.setFormatter(OneLine())

    def emit(self, record: logging.LogRecord) -> None:
        try:
            kind = next((k for level, k in self.KINDS if record.levelno >= level), types.MessageType.Log)
            self.server.log_to_client(kind, self.format(record))
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)


def serve(model_spec: str | None = None) -> int:
    """Serve on stdin/stdout until `exit` or the end of input; 0 after a `shutdown`, else 1
    (as LSP asks)."""
    server = create_server(model_spec)
    ours = logging.getLogger("tuiwriter")
    ours.setLevel(logging.INFO)
    ours.addHandler(ClientLog(server))
    ours.propagate = False
    theirs = logging.getLogger("pygls")  # its own warnings: one line each on stderr
    stderr = logging.StreamHandler(sys.stderr)
    stderr.setFormatter(OneLine("%(message)s"))
    theirs.addHandler(stderr)
    theirs.setLevel(logging.WARNING)
    theirs.propagate = False
    protocol_out = sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must not corrupt the protocol
    server.start_io(sys.stdin.buffer, protocol_out)
    return 0 if server.closing else 1
