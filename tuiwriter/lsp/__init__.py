"""`tuiwriter lsp`: the editor's suggestions for any editor that speaks the Language Server
Protocol (3.18 `textDocument/inlineCompletion`, ghost text at the cursor).

pygls does the protocol; this package decides what a request gets. `model` loads the one
checkpoint every open document shares and builds each document's engine from it, `documents`
maps a request's position to the text before the cursor and applies the editor's rule for
where a suggestion may show, `inference` is the one thread the model runs on (requests are
superseded, cancelled or made stale there, never answered late), and `server` wires them to
the protocol. No torch is imported until the model loads, after `initialize` has been answered.
"""
