"""The tokenizer round-trips any text, keeps the prompt format's special tokens whole and
survives a trip through a real GGUF file."""

from __future__ import annotations

from pathlib import Path

import gguf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from converters.gguf_export import add_tokenizer
from hrmcli import prompt_format as pf
from hrmcli.runtime.gguf_load import read_metadata, tokenizer_fields
from trainer.tokenizer import TOKEN_CONTROL, TOKEN_USER_DEFINED, Tokenizer, bytes_per_token

FIXTURES = Path(__file__).parent / "fixtures" / "code"


@pytest.fixture(scope="module")
def tok() -> Tokenizer:
    texts = [p.read_text() for p in sorted(FIXTURES.rglob("*")) if p.is_file()]
    return Tokenizer.train(texts * 3, vocab_size=600)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_roundtrips_unicode(tok: Tokenizer, s: str) -> None:
    assert tok.decode(tok.encode(s)) == s


@settings(max_examples=200, deadline=None)
@given(st.binary())
def test_roundtrips_bytes_as_latin1(tok: Tokenizer, b: bytes) -> None:
    s = b.decode("latin-1")
    assert tok.decode(tok.encode(s)) == s


def test_special_tokens_are_single_ids_at_fixed_positions(tok: Tokenizer) -> None:
    for i, t in enumerate(pf.SPECIAL_TOKENS):
        assert tok.encode(t) == [i]
        assert tok.special_ids[t] == i
    assert tok.vocab_size == 600


def test_markers_stay_whole_in_context(tok: Tokenizer) -> None:
    text = (f"x = 1\n{pf.SEARCH_MARK}\nold\n{pf.DIVIDER_MARK}\nnew\n{pf.REPLACE_MARK}\n"
            f"title\n=======\n<<<<<<< HEAD\na ======= b\n")
    ids = tok.encode(text)
    div = tok.special_ids[pf.DIVIDER_MARK]
    assert ids.count(tok.special_ids[pf.SEARCH_MARK]) == 1
    assert ids.count(tok.special_ids[pf.REPLACE_MARK]) == 1
    assert ids.count(div) == 3  # the marker line, the underline in code and the inline one
    assert tok.decode(ids) == text


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=20), st.sampled_from(pf.SPECIAL_TOKENS)), max_size=8))
def test_specials_whole_between_arbitrary_text(tok: Tokenizer, parts: list[str]) -> None:
    text = "".join(parts)
    ids = tok.encode(text)
    assert tok.decode(ids) == text
    for p in parts:
        if p in pf.SPECIAL_TOKENS:
            assert tok.special_ids[p] in ids


def test_skip_control_keeps_edit_markers(tok: Tokenizer) -> None:
    text = f"{pf.BOS}{pf.ASSISTANT}a.py\n{pf.SEARCH_MARK}\nx\n{pf.DIVIDER_MARK}\ny\n{pf.REPLACE_MARK}\n{pf.EOS}"
    shown = tok.decode(tok.encode(text), skip_control=True)
    assert shown == f"a.py\n{pf.SEARCH_MARK}\nx\n{pf.DIVIDER_MARK}\ny\n{pf.REPLACE_MARK}\n"


def test_save_and_load(tok: Tokenizer, tmp_path: Path) -> None:
    tok.save(tmp_path / "t.json")
    again = Tokenizer.load(tmp_path / "t.json")
    s = (FIXTURES / "src" / "ring.go").read_text()
    assert again.encode(s) == tok.encode(s)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="cannot read tokenizer"):
        Tokenizer.load(tmp_path / "bad.json")


def _write_gguf(path: Path, fields: dict) -> None:
    w = gguf.GGUFWriter(str(path), arch="hrm")
    add_tokenizer(w, fields)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def _read_gguf(path: Path) -> dict:
    return tokenizer_fields(read_metadata(gguf.GGUFReader(str(path))))


def test_gguf_fields_rebuild_identical_tokenizer(tok: Tokenizer, tmp_path: Path) -> None:
    fields = tok.to_gguf_fields()
    assert len(fields["tokens"]) == len(fields["token_type"]) == tok.vocab_size
    assert fields["token_type"][tok.bos_id] == TOKEN_CONTROL
    assert fields["token_type"][tok.special_ids[pf.DIVIDER_MARK]] == TOKEN_USER_DEFINED
    _write_gguf(tmp_path / "tok.gguf", fields)
    back = Tokenizer.from_gguf_fields(_read_gguf(tmp_path / "tok.gguf"))
    assert back.vocab_size == tok.vocab_size and back.special_ids == tok.special_ids
    samples = [p.read_text() for p in sorted((FIXTURES / "src").iterdir())]
    samples.append(pf.edit_prompt([("a.py", "x = 1\n")], "rename x") + "ünïcödé\x00\x7f")
    for s in samples:
        assert back.encode(s) == tok.encode(s)
        assert back.decode(tok.encode(s)) == s


def test_from_gguf_rejects_other_models(tok: Tokenizer) -> None:
    fields = dict(tok.to_gguf_fields(), model="llama")
    with pytest.raises(ValueError, match="unsupported tokenizer model"):
        Tokenizer.from_gguf_fields(fields)


def test_compression_on_code_is_better_than_bytes(tok: Tokenizer) -> None:
    texts = [p.read_text() for p in sorted((FIXTURES / "src").iterdir())]
    assert bytes_per_token(tok, texts) > 1.5
