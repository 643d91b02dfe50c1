"""HRM-Code's tokenizer, the half that reads and runs it: byte-level BPE plus the prompt
format's special tokens, or a pretrained model's own vocabulary ("chat" tokenizers).

It lives in the runtime because every `hrm edit` loads the tokenizer embedded in its GGUF;
training a new vocabulary (Tokenizer.train) is the trainer's half, in trainer/tokenizer.py.

Control tokens (roles, blocks, tool names) are HF "special" added tokens; the three
SEARCH/REPLACE markers are non-special added tokens so that decoding for display keeps
them. Added tokens are matched before byte-level pre-tokenisation wherever their text
occurs, which is also how llama.cpp treats control and user-defined tokens from a GGUF
file, so training, our runtime and llama.cpp split text the same way.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from tokenizers import AddedToken, decoders, models, pre_tokenizers
from tokenizers import Tokenizer as HFTokenizer

from hrmcli import prompt_format as pf

# GGUF token types (llama.cpp's llama_token_type).
TOKEN_NORMAL, TOKEN_CONTROL, TOKEN_USER_DEFINED = 1, 3, 4
GGUF_MODEL = "gpt2"  # byte-level BPE
GGUF_PRE = "gpt-2"  # the GPT-2 split regex, which is what pre_tokenizers.ByteLevel uses

# llama.cpp's pre-tokenizer names -> the same split in HF tokenizers. "smollm" (SmolLM2,
# StarCoder) splits every digit on its own before the GPT-2 regex.
PRE_TOKENIZERS = {
    "gpt-2": lambda: pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
    "smollm": lambda: pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)]),
}


def added_token(text: str, special: bool) -> AddedToken:
    """An added token matched verbatim (no normalisation, no stripping); `special` ones are
    control tokens that decoding for display may skip."""
    return AddedToken(text, single_word=False, lstrip=False, rstrip=False, normalized=False,
                      special=special)


class Tokenizer:
    """Wrapper that hides the HF object and fixes the id layout: the prompt format's special
    tokens take ids 0..len(SPECIAL_TOKENS)-1 in prompt_format order, then bytes and merges.

    A *chat* tokenizer is a pretrained model's own vocabulary (a retrofit, prompt format
    v2): it has none of our special tokens, its turns are ChatML (<|im_start|>/<|im_end|>),
    and `gguf_fields` keeps the source file's fields so that conversion round-trips them.
    """

    def __init__(self, hf: HFTokenizer, gguf_fields: dict | None = None):
        self._hf = hf
        self.gguf_fields = gguf_fields
        self.special_ids: dict[str, int] = {}
        if gguf_fields is not None:
            types = gguf_fields["token_type"]
            self.control_ids = frozenset(i for i, ty in enumerate(types) if ty == TOKEN_CONTROL)
            self._bos, self._eos = int(gguf_fields["bos_token_id"]), int(gguf_fields["eos_token_id"])
            self._pad = int(gguf_fields.get("padding_token_id", self._eos))
            return
        for t in pf.SPECIAL_TOKENS:
            i = hf.token_to_id(t)
            if i is None:
                raise ValueError(f"tokenizer lacks the special token {t!r}")
            self.special_ids[t] = i
        self.control_ids: frozenset[int] = frozenset(self.special_ids[t] for t in pf.CONTROL_TOKENS)
        self._bos, self._eos = self.special_ids[pf.BOS], self.special_ids[pf.EOS]
        self._pad = self.special_ids[pf.PAD]

    @property
    def is_chat(self) -> bool:
        return self.gguf_fields is not None

    @property
    def stop_ids(self) -> frozenset[int]:
        """Ids that end a generation: EOS, and for chat vocabularies every control token
        (<|im_end|>, <|endoftext|>, a stray <|im_start|>)."""
        return self.control_ids if self.is_chat else frozenset({self._eos})

    # -- files --------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path) -> Tokenizer:
        try:
            return cls(HFTokenizer.from_file(str(path)))
        except Exception as e:  # HF raises bare Exceptions for corrupt JSON
            raise ValueError(f"cannot read tokenizer {path}: {e}") from e

    def save(self, path: str | Path) -> None:
        p = Path(path)
        tmp = p.with_name(p.name + ".tmp")
        tmp.write_text(self._hf.to_str(), encoding="utf-8")
        tmp.replace(p)

    # -- use ------------------------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        return self._hf.get_vocab_size(with_added_tokens=True)

    def encode(self, text: str) -> list[int]:
        return self._hf.encode(text, add_special_tokens=False).ids

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return [e.ids for e in self._hf.encode_batch(list(texts), add_special_tokens=False)]

    def decode(self, ids: Sequence[int], skip_control: bool = False) -> str:
        if skip_control:
            ids = [i for i in ids if i not in self.control_ids]
        return self._hf.decode(list(ids), skip_special_tokens=False)

    def token_to_id(self, token: str) -> int | None:
        return self._hf.token_to_id(token)

    def id_to_token(self, i: int) -> str | None:
        return self._hf.id_to_token(i)

    @property
    def bos_id(self) -> int:
        return self._bos

    @property
    def eos_id(self) -> int:
        return self._eos

    @property
    def pad_id(self) -> int:
        return self._pad

    # -- GGUF -----------------------------------------------------------------------------
    def to_gguf_fields(self) -> dict:
        """The tokenizer as GGUF metadata values (keys without the `tokenizer.ggml.` prefix).

        tokens are in id order in their byte-level spelling; merges are "left right" strings.
        """
        if self.gguf_fields is not None:
            return dict(self.gguf_fields)
        state = json.loads(self._hf.to_str())
        vocab: dict[str, int] = state["model"]["vocab"]
        n = self.vocab_size
        tokens = [""] * n
        for t, i in vocab.items():
            tokens[i] = t
        for t, i in self.special_ids.items():
            tokens[i] = t
        if any(t == "" for t in tokens):
            raise ValueError("tokenizer ids are not contiguous")
        types = [TOKEN_NORMAL] * n
        for t in pf.CONTROL_TOKENS:
            types[self.special_ids[t]] = TOKEN_CONTROL
        for t in pf.TEXT_TOKENS:
            types[self.special_ids[t]] = TOKEN_USER_DEFINED
        merges = [m if isinstance(m, str) else " ".join(m) for m in state["model"]["merges"]]
        return {
            "model": GGUF_MODEL,
            "pre": GGUF_PRE,
            "tokens": tokens,
            "token_type": types,
            "merges": merges,
            "bos_token_id": self.bos_id,
            "eos_token_id": self.eos_id,
            "padding_token_id": self.pad_id,
            "add_bos_token": False,
            "add_eos_token": False,
        }

    @classmethod
    def from_gguf_fields(cls, fields: dict) -> Tokenizer:
        """Rebuild the tokenizer from GGUF fields: to_gguf_fields() output read back, or a
        pretrained model's own byte-level BPE (then a chat tokenizer, see the class doc)."""
        if fields.get("model") != GGUF_MODEL:
            raise ValueError(f"unsupported tokenizer model {fields.get('model')!r}; expected {GGUF_MODEL!r}")
        pre = fields.get("pre") or GGUF_PRE
        if pre not in PRE_TOKENIZERS:
            raise ValueError(f"unsupported pre-tokenizer {pre!r}; known: {', '.join(PRE_TOKENIZERS)}")
        tokens: list[str] = list(fields["tokens"])
        types: list[int] = list(fields["token_type"])
        if len(tokens) != len(types):
            raise ValueError("tokens and token_type differ in length")
        vocab = {t: i for i, t in enumerate(tokens)}
        merges = [tuple(m.split(" ", 1)) for m in fields["merges"]]
        hf = HFTokenizer(models.BPE(vocab=vocab, merges=merges))
        hf.pre_tokenizer = PRE_TOKENIZERS[pre]()
        hf.decoder = decoders.ByteLevel()
        added = [(i, t, ty) for i, (t, ty) in enumerate(zip(tokens, types, strict=True))
                 if ty in (TOKEN_CONTROL, TOKEN_USER_DEFINED)]
        for _, t, ty in added:
            if ty == TOKEN_CONTROL:
                hf.add_special_tokens([added_token(t, True)])
            else:
                hf.add_tokens([added_token(t, False)])
        ours = pf.BOS in vocab and types[vocab[pf.BOS]] == TOKEN_CONTROL
        return cls(hf) if ours else cls(hf, dict(fields))

