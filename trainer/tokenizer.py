"""The training half of HRM-Code's tokenizer: learning a byte-level BPE vocabulary over our
own code corpus (Tokenizer.train) and measuring its compression.

Everything that reads or runs a tokenizer (ids, encoding, GGUF fields, chat vocabularies)
is in hrmcli/runtime/tokenizer.py, which `hrm edit` loads without any training code; this
module's Tokenizer is that class plus `train`, and the names below are re-exported so that
training code and tests keep one import.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from tokenizers import Tokenizer as HFTokenizer
from tokenizers import decoders, models, pre_tokenizers, trainers

from hrmcli import prompt_format as pf
from hrmcli.runtime import tokenizer as _rt
from hrmcli.runtime.tokenizer import (  # noqa: F401  (re-exported for training code and tests)
    GGUF_MODEL,
    GGUF_PRE,
    PRE_TOKENIZERS,
    TOKEN_CONTROL,
    TOKEN_NORMAL,
    TOKEN_USER_DEFINED,
    added_token,
)


class Tokenizer(_rt.Tokenizer):
    """The runtime tokenizer plus training a new vocabulary; the id layout (the prompt
    format's special tokens first, in prompt_format order, then bytes and merges) is set here
    and read back by the runtime."""

    @classmethod
    def train(cls, texts: Iterable[str], vocab_size: int, min_frequency: int = 2) -> Tokenizer:
        hf = HFTokenizer(models.BPE())
        hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
        hf.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            min_frequency=min_frequency,
            special_tokens=[added_token(t, True) for t in pf.SPECIAL_TOKENS],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
        hf.train_from_iterator(texts, trainer=trainer)
        # The trainer registers every special as a special added token; re-register the
        # edit markers as non-special so decoding for display keeps them.
        return cls(_configure(HFTokenizer.from_str(_demote_text_tokens(hf.to_str()))))


def _configure(tok: HFTokenizer) -> HFTokenizer:
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([added_token(t, True) for t in pf.CONTROL_TOKENS])
    tok.add_tokens([added_token(t, False) for t in pf.TEXT_TOKENS])
    return tok


def _demote_text_tokens(state_json: str) -> str:
    state = json.loads(state_json)
    for tok in state.get("added_tokens", []):
        if tok["content"] in pf.TEXT_TOKENS:
            tok["special"] = False
    return json.dumps(state)


def bytes_per_token(tok: _rt.Tokenizer, texts: Iterable[str]) -> float:
    """Compression on `texts`: UTF-8 bytes per token (higher is better)."""
    n_bytes = n_tok = 0
    for t in texts:
        n_bytes += len(t.encode("utf-8"))
        n_tok += len(tok.encode(t))
    return n_bytes / max(n_tok, 1)
