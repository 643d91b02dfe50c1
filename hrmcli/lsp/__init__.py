"""`hrm lsp`: hrm's edit path offered to editors as a Language Server (pygls, stdio).

Code actions run the same proposal `hrm edit` makes (EditCoder.propose) on the text the
editor holds, and send the result back as a workspace/applyEdit, so the editor shows the
change and its own undo drops it; the server never writes files or commits.

Modules: `text` (line edits between two texts), `actions` (which actions a range offers and
the task each one asks for), `job` (one cancellable proposal on a scratch copy), `server`
(the protocol: documents, progress, cancellation, messages).
"""
