"""Constrained SEARCH decoding: while the model writes a SEARCH section, only tokens that
keep it a verbatim span of the target file (whole lines, starting at a line start) are
allowed, so every SEARCH block the model finishes matches the file exactly.

The processor works on bytes, so byte-level tokens that split a UTF-8 character are
handled like any other. Tokens are kept in a byte trie; the allowed next tokens are found
by walking the trie along the file text from each place the SEARCH text so far occurs
(a set of candidate start offsets, narrowed one line at a time), forking into the
`=======` divider wherever the text so far ends a line. Control tokens decode to no bytes
and are never allowed inside SEARCH: stopping there would leave a broken block.

Outside SEARCH sections nothing is constrained, except that a token may not complete the
`<<<<<<< SEARCH` marker line and run on into SEARCH text that is not in the file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hrmcli.agent.editblocks import DIVIDER_RE, SEARCH_RE, path_before
from hrmcli.prompt_format import TEXT_TOKENS

SEARCH_MARK = b"<<<<<<< SEARCH"
DIVIDER = b"=======\n"
_NL = 0x0A


class _Node:
    __slots__ = ("children", "ids")

    def __init__(self) -> None:
        self.children: dict[int, _Node] = {}
        self.ids: list[int] = []


class TokenTrie:
    """Token ids by their bytes. Build once per vocabulary and share between processors."""

    def __init__(self, token_bytes: Sequence[bytes]) -> None:
        self.token_bytes = list(token_bytes)
        self.root = _Node()
        self.max_len = 0
        for i, b in enumerate(self.token_bytes):
            if not b:
                continue
            node = self.root
            for c in b:
                nxt = node.children.get(c)
                if nxt is None:
                    nxt = node.children[c] = _Node()
                node = nxt
            node.ids.append(i)
            self.max_len = max(self.max_len, len(b))
        self._below: dict[int, list[int]] = {}

    def below(self, node: _Node) -> list[int]:
        """Ids of every token strictly below `node` (tokens that extend its bytes)."""
        key = id(node)
        if key not in self._below:
            out: list[int] = []
            stack = list(node.children.values())
            while stack:
                n = stack.pop()
                out.extend(n.ids)
                stack.extend(n.children.values())
            self._below[key] = out
        return self._below[key]

    def follow(self, node: _Node, data: bytes, out: list[int] | None = None) -> _Node | None:
        """Walk `data` from `node`, adding the ids of tokens that are prefixes of it to
        `out`; returns the node reached, or None when no token continues that far."""
        for c in data:
            nxt = node.children.get(c)
            if nxt is None:
                return None
            node = nxt
            if out is not None:
                out.extend(node.ids)
        return node


def normalise_file(text: str) -> bytes:
    """The file as the parser sees SEARCH text: LF line ends and a final newline."""
    text = text.replace("\r\n", "\n")
    if text and not text.endswith("\n"):
        text += "\n"
    return text.encode("utf-8")


def _line_starts(data: bytes) -> list[int]:
    return [0] + [m.end() for m in re.finditer(b"\n", data) if m.end() < len(data)]


class SearchConstraint:
    """A logits processor (ids so far, next-token logits) -> logits for one generation.

    The ids seen at the first call are taken as the prompt; everything after them is the
    reply. `files` maps the paths shown to the model to their current text; a SEARCH for
    a path not among them must be empty (a new file). Use a fresh instance per generation.
    """

    def __init__(self, trie: TokenTrie, files: Mapping[str, str]) -> None:
        self.trie = trie
        self.files = {p: normalise_file(c) for p, c in files.items()}
        self._starts = {p: _line_starts(b) for p, b in self.files.items()}
        self._open_cache: dict[tuple[str, int], list[int]] = {}
        self._prompt_len: int | None = None
        self._seen = 0
        self.text = bytearray()
        self.lines: list[str] = []
        self._line_start = 0
        self._last_path = ""
        self.target: bytes | None = None  # file bytes while a SEARCH section is open
        self._target_path = ""
        self._search_at = 0  # offset in self.text where the SEARCH body starts
        self._cands: list[int] = []
        self.steps_constrained = 0

    # -- tracking the reply -----------------------------------------------------------
    def _feed(self, piece: bytes) -> None:
        self.text += piece
        while True:
            nl = self.text.find(b"\n", self._line_start)
            if nl < 0:
                return
            line = bytes(self.text[self._line_start:nl])
            self._line_start = nl + 1
            self._end_line(line)

    def _end_line(self, line: bytes) -> None:
        s = line.decode("utf-8", "replace")
        self.lines.append(s)
        stripped = s.strip()
        if self.target is None:
            if SEARCH_RE.match(stripped):
                self._open_search()
            return
        if DIVIDER_RE.match(stripped):
            self._last_path = self._target_path
            self.target = None
            return
        done = self._line_start - 1 - self._search_at - len(line)  # bytes of SEARCH before this line
        want = line + b"\n"
        self._cands = [c for c in self._cands if self.target.startswith(want, c + done)]
        if not self._cands:  # the text left the file (tokens came from elsewhere): stop steering
            self.target = None

    def _path_for(self, lines: list[str]) -> str:
        """The file a SEARCH marker (the last of `lines`) edits, as the parser would see it."""
        path = path_before(lines, len(lines) - 1) or self._last_path
        if not path and len(self.files) == 1:
            path = next(iter(self.files))
        return path.removeprefix("./")

    def _open_search(self) -> None:
        path = self._path_for(self.lines)
        self._target_path = path
        self.target = self.files.get(path, b"")
        self._cands = list(self._starts.get(path, [0]))
        self._search_at = self._line_start

    # -- what may come next -------------------------------------------------------------
    def _walk_file(self, node: _Node, data: bytes, p: int, out: list[int]) -> None:
        """Tokens that continue `data` from offset p, possibly running into the divider."""
        while True:
            if p == 0 or data[p - 1] == _NL:  # the SEARCH text so far ends a line
                self._walk_divider(node, 0, out)
            if p >= len(data):
                return
            nxt = node.children.get(data[p])
            if nxt is None:
                return
            node = nxt
            p += 1
            out.extend(node.ids)

    def _walk_divider(self, node: _Node, k: int, out: list[int]) -> None:
        end = self.trie.follow(node, DIVIDER[k:], out)
        if end is not None:
            out.extend(self.trie.below(end))

    def _continuations(self, data: bytes, cands: list[int], done: int, partial: bytes,
                       node: _Node) -> list[int]:
        """Token ids (starting at trie `node`) that keep SEARCH text = `done` bytes of whole
        lines + `partial` a span of `data` starting at one of `cands`, or close it."""
        out: list[int] = []
        seen: set[bytes] = set()
        span = self.trie.max_len + 1
        for c in cands:
            q = c + done
            if not data.startswith(partial, q):
                continue
            p = q + len(partial)
            key = (b"^" if p == 0 else data[p - 1:p]) + data[p:p + span]
            if key not in seen:  # same bytes ahead: same tokens
                seen.add(key)
                self._walk_file(node, data, p, out)
        if partial and DIVIDER.startswith(partial) and cands:
            self._walk_divider(node, len(partial), out)
        return out

    def _opening(self, path: str, node: _Node) -> list[int]:
        """Allowed first tokens of a SEARCH body for `path` (cached: it is the costly case)."""
        key = (path, id(node))
        if key not in self._open_cache:
            data = self.files.get(path, b"")
            cands = self._starts.get(path, [0])
            self._open_cache[key] = self._continuations(data, cands, 0, b"", node)
        return self._open_cache[key]

    def _search_rule(self) -> tuple[str, list[int]] | None:
        assert self.target is not None
        done = self._line_start - self._search_at
        partial = bytes(self.text[self._line_start:])
        if done == 0 and not partial:
            ids = self._opening(self._target_path, self.trie.root)
        else:
            ids = self._continuations(self.target, self._cands, done, partial, self.trie.root)
        return ("allow", ids) if ids else None

    def _marker_rule(self) -> tuple[str, list[int]] | None:
        """Outside SEARCH: a token that ends the marker line must go on as valid SEARCH text."""
        partial = bytes(self.text[self._line_start:])
        line = partial.decode("utf-8", "replace")
        nl = self.trie.root.children.get(_NL)
        if SEARCH_RE.match(line.strip()):
            if nl is None:
                return None
            path = self._path_for(self.lines + [line])
            return ("allow", nl.ids + self._opening(path, nl))
        head = partial.lstrip(b" \t")
        if not SEARCH_MARK.startswith(head) or len(head) == len(SEARCH_MARK):
            return None
        end = self.trie.follow(self.trie.root, SEARCH_MARK[len(head):] + b"\n")
        if end is None:
            return None
        path = self._path_for(self.lines + [line + SEARCH_MARK[len(head):].decode()])
        ok = set(self._opening(path, end))
        return ("ban", [i for i in self.trie.below(end) if i not in ok])

    def allowed(self) -> tuple[str, list[int]] | None:
        """("allow", ids) or ("ban", ids) for the next token, or None for no constraint."""
        if self.target is not None:
            return self._search_rule()
        return self._marker_rule()

    # -- the processor --------------------------------------------------------------------
    def __call__(self, ids: Sequence[int], logits: Any) -> Any:
        if self._prompt_len is None:
            self._prompt_len = len(ids)
        new = ids[self._prompt_len + self._seen:]
        for t in new:
            self._feed(self.trie.token_bytes[int(t)])
        self._seen += len(new)
        rule = self.allowed()
        if rule is None:
            return logits
        self.steps_constrained += 1
        kind, idx = rule
        return _mask(logits, idx, keep=(kind == "allow"))


def _mask(logits: Any, idx: list[int], keep: bool) -> Any:
    """Logits with only `idx` left (keep) or with `idx` removed; numpy or torch."""
    if hasattr(logits, "masked_fill"):  # torch, imported lazily by its owner
        import torch

        sel = torch.zeros(logits.shape[-1], dtype=torch.bool, device=logits.device)
        if idx:
            sel[torch.tensor(idx, device=logits.device)] = True
        return logits.masked_fill(~sel if keep else sel, float("-inf"))
    arr = np.array(logits, dtype=np.float32, copy=True)
    sel = np.zeros(arr.shape[-1], dtype=bool)
    if idx:
        sel[np.asarray(idx)] = True
    arr[..., ~sel if keep else sel] = -np.inf
    return arr


# -- token bytes for our byte-level BPE tokenizer ------------------------------------------
def _byte_level_decoder() -> dict[str, int]:
    """Inverse of the byte-level BPE alphabet: printable bytes stand for themselves, the
    rest are shifted past 255 in byte order."""
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1),
            *range(ord("®"), ord("ÿ") + 1)]
    table = {chr(b): b for b in keep}
    n = 0
    for b in range(256):
        if b not in keep:
            table[chr(256 + n)] = b
            n += 1
    return table


def tokenizer_token_bytes(tok: Any) -> list[bytes]:
    """Bytes of each id of an hrmcli.runtime.tokenizer.Tokenizer: b"" for control tokens, the
    marker text for the edit-marker tokens, the byte-level spelling decoded for the rest."""
    dec = _byte_level_decoder()
    out: list[bytes] = []
    for i in range(tok.vocab_size):
        t = tok.id_to_token(i) or ""
        if i in tok.control_ids:
            out.append(b"")
        elif t in TEXT_TOKENS:
            out.append(t.encode())
        else:
            out.append(bytes(dec[c] for c in t if c in dec))
    return out
