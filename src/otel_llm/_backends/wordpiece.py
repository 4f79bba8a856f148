"""BERT's uncased WordPiece tokenizer in plain Python, read from the model's tokenizer.json: what the int8
MiniLM needs without `tokenizers` (which brings huggingface_hub and 30 MB more into a Lambda zip).

Same ids as `tokenizers` for all-MiniLM-L6-v2 (tests compare them): clean text, space out CJK characters,
lower-case and strip accents, split on whitespace and punctuation, greedy longest-match word pieces."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path


def _is_punctuation(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp: int) -> bool:
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def _normalise(text: str) -> str:
    out = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD or (unicodedata.category(ch) in ("Cc", "Cf") and ch not in "\t\n\r"):
            continue
        if ch in "\t\n\r" or unicodedata.category(ch) == "Zs":
            out.append(" ")
        elif _is_cjk(cp):
            out.append(f" {ch} ")
        else:
            out.append(ch)
    text = unicodedata.normalize("NFD", "".join(out).lower())
    return "".join(ch for ch in text if unicodedata.category(ch) != "Mn")


class WordPiece:
    """`encode(text)` -> ids with [CLS] ... [SEP], cut to `max_length`."""

    def __init__(self, tokenizer_json: Path, max_length: int = 256) -> None:
        model = json.loads(tokenizer_json.read_text(encoding="utf-8"))["model"]
        self.vocab: dict[str, int] = model["vocab"]
        self.unk = self.vocab[model.get("unk_token", "[UNK]")]
        self.prefix = model.get("continuing_subword_prefix", "##")
        self.max_chars = model.get("max_input_chars_per_word", 100)
        self.cls, self.sep = self.vocab["[CLS]"], self.vocab["[SEP]"]
        self.max_length = max_length
        self._cache: dict[str, list[int]] = {}

    def _word(self, word: str) -> list[int]:
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        if len(word) > self.max_chars:
            return [self.unk]
        ids, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else self.prefix + word[start:end]
                if piece in self.vocab:
                    ids.append(self.vocab[piece])
                    break
                end -= 1
            else:
                ids = [self.unk]
                break
            start = end
        if len(self._cache) < 50_000:
            self._cache[word] = ids
        return ids

    def encode(self, text: str) -> list[int]:
        ids = [self.cls]
        limit = self.max_length - 1
        for chunk in _normalise(text).split():
            word: list[str] = []
            for ch in chunk:
                if _is_punctuation(ch):
                    if word:
                        ids.extend(self._word("".join(word)))
                        word = []
                    ids.extend(self._word(ch))
                else:
                    word.append(ch)
            if word:
                ids.extend(self._word("".join(word)))
            if len(ids) >= limit:
                break
        return [*ids[:limit], self.sep]
