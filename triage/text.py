"""Text normalisation, PII masking and tokenisation.

Every other part sees petitions only through `normalize`, so that a Traditional Chinese petition,
a full-width one and one pasted from an HTML form all look the same to the models. The original
text is never overwritten: callers keep it for display and normalise a copy for processing.
"""

from __future__ import annotations

import html
import re
import threading
import unicodedata
from functools import lru_cache
from importlib import resources

MAX_TEXT_CHARS = 20_000

_TAG = re.compile(r"<[^>]{0,2000}>")
_EXCEL_CR = re.compile(r"_x000[dDaA]_")
_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(
    r"[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]"
)
_SURROGATE = re.compile(r"[\ud800-\udfff]")

_converter_lock = threading.Lock()


# Texts remembered by each per-text cache below (normalised form, segmentation, words): a batch
# call (`/classify/batch`, up to 1,000 petitions; the CLI's 1,024-petition chunks) runs the
# category model, the request-type model and the routing rules over the same texts one after the
# other, so each cache must hold a whole batch or the later steps redo the earlier ones' work.
TEXT_CACHE = 2048


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional → Simplified with OpenCC; the converter is not documented thread-safe."""
    with _converter_lock:
        return _t2s().convert(text)


@lru_cache(maxsize=1)
def _s2t():
    import opencc

    return opencc.OpenCC("s2tw")


def to_traditional(text: str) -> str:
    """Simplified → Traditional with OpenCC: a draft for a house that answers a Traditional
    petition in the citizen's own script."""
    with _converter_lock:
        return _s2t().convert(text)


@lru_cache(maxsize=1)
def _traditional_converters():
    import opencc

    return [opencc.OpenCC(config) for config in ("s2t", "s2tw", "s2hk")]


def script_forms(text: str) -> list[str]:
    """The text as written, in Simplified, and in the Traditional forms petitions arrive in
    (OpenCC's standard, Taiwan and Hong Kong ones), each once: a clerk typing 电梯 is looking for
    電梯 too."""
    with _converter_lock:
        simplified = _t2s().convert(text)
        forms = [text, simplified, *(c.convert(simplified) for c in _traditional_converters())]
    return list(dict.fromkeys(forms))


# A text is written in Traditional characters when converting it to Simplified changes at least
# this many of its Chinese characters and this share of them. Simplified text is almost never
# changed (on the public board's 2,252 replies at most 2 % of characters, a handful of
# variant forms), a Traditional one in one character of five or more.
TRADITIONAL_MIN_CHARS = 2
TRADITIONAL_MIN_SHARE = 0.05
_HAN = re.compile(r"[\u4e00-\u9fff]")


def is_traditional(text: str, simplified: str | None = None) -> bool:
    """Whether `text` is written in Traditional Chinese (`simplified`: its conversion, when the
    caller has it already)."""
    han = len(_HAN.findall(text))
    if han < TRADITIONAL_MIN_CHARS:
        return False
    simplified = to_simplified(text) if simplified is None else simplified
    changed = sum(a != b for a, b in zip(text, simplified, strict=False))
    return changed >= TRADITIONAL_MIN_CHARS and changed >= TRADITIONAL_MIN_SHARE * han


def normalize(text: str | None) -> str:
    """The canonical form every model and index sees (cached: one request normalises one
    petition several times, once per model and rule set)."""
    return _normalize(text) if text else ""


@lru_cache(maxsize=TEXT_CACHE)
def _normalize(text: str) -> str:
    """The canonical form every model and index sees.

    Order matters: entities are unescaped before tags are stripped (so ``&lt;b&gt;`` becomes a
    tag and goes), and NFKC runs before OpenCC so full-width forms of Traditional characters
    are converted too.
    """
    if not text:
        return ""
    text = _EXCEL_CR.sub(" ", text)
    text = html.unescape(text)
    text = _TAG.sub(" ", text)
    text = _SURROGATE.sub("", text)
    text = unicodedata.normalize("NFKC", text)
    text = _CONTROL.sub("", text)
    text = to_simplified(text)
    return _SPACE.sub(" ", text).strip()


def petition_text(title: str | None, body: str | None) -> str:
    """Join title and body: the title is the citizen's own summary, so it leads."""
    title, body = (title or "").strip(), (body or "").strip()
    if title and body:
        return f"{title}。{body}"
    return title or body


# --- PII -------------------------------------------------------------------------------------

_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
_ID_CARD = re.compile(
    r"(?<![0-9])([1-9]\d{3})\d{2}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![0-9A-Za-z])"
)
_ID_CARD_15 = re.compile(r"(?<![0-9])([1-9]\d{3})\d{4}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}(?![0-9])")
_BANK_CARD = re.compile(r"(?<![0-9])([3-6]\d{3})(?:[ -]?\d){8,11}([ -]?\d{4})(?![0-9])")
_MOBILE = re.compile(r"(?<![0-9])(?:\+?86[ -]?)?(1[3-9]\d)[ -]?\d{4}[ -]?(\d{4})(?![0-9])")
_LANDLINE = re.compile(r"(?<![0-9])(0\d{2,3})[ -]?\d{3,4}(\d{4})(?![0-9])")


def mask_pii(text: str | None) -> str:
    """Mask contact and identity numbers before text reaches a log line or an export.

    The masks keep a prefix and the last digits so staff can still tell two numbers apart
    without the log revealing either. ID cards go before bank cards and phones because an
    18-digit ID would otherwise be read as a bank card.
    """
    if not text:
        return ""
    text = _EMAIL.sub(r"\1***@\2", text)
    text = _ID_CARD.sub(r"\1**************", text)
    text = _ID_CARD_15.sub(r"\1***********", text)
    text = _BANK_CARD.sub(r"\1 **** **** \2", text)
    text = _MOBILE.sub(r"\1****\2", text)
    text = _LANDLINE.sub(r"\1-****\2", text)
    return text


# --- Tokenisation ----------------------------------------------------------------------------

# The word segmenters a classifier can be trained with. "jieba" is jieba 0.42.1 (Python), what
# every model saved before the choice existed used; "rjieba" is jieba-rs through rjieba, the
# same algorithm and dictionary in Rust, 16-19x faster but a different split for some texts, so
# a model must keep the segmenter it was trained with (PetitionClassifier.segmenter).
SEGMENTERS = ("jieba", "rjieba")

_jieba_lock = threading.Lock()
_tokenizer = None
_rjieba = None


def _resource_lines(name: str) -> list[str]:
    data = resources.files("triage.resources").joinpath(name).read_text(encoding="utf-8")
    return [line.strip() for line in data.splitlines() if line.strip() and not line.startswith("#")]


def _domain_words() -> list[tuple[str, int]]:
    """(word, frequency) of the domain dictionary; 2000 where a line gives no frequency."""
    out = []
    for line in _resource_lines("domain_dict.txt"):
        word, *rest = line.split()
        out.append((word, int(rest[0]) if rest else 2000))
    return out


def _get_tokenizer():
    """One jieba tokenizer per process, with the domain dictionary, built on first use."""
    global _tokenizer
    if _tokenizer is None:
        with _jieba_lock:
            if _tokenizer is None:
                import logging

                import jieba

                jieba.setLogLevel(logging.WARNING)
                tok = jieba.Tokenizer()
                for word, freq in _domain_words():
                    tok.add_word(word, freq=freq)
                tok.initialize()
                _tokenizer = tok
    return _tokenizer


def _get_rjieba():
    """One jieba-rs segmenter per process with the same domain dictionary (rjieba's `add_word`
    takes the word, its frequency and an optional part-of-speech tag)."""
    global _rjieba
    if _rjieba is None:
        with _jieba_lock:
            if _rjieba is None:
                import rjieba

                seg = rjieba.Jieba()
                for word, freq in _domain_words():
                    seg.add_word(word, freq, None)
                _rjieba = seg
    return _rjieba


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    return frozenset(_resource_lines("stopwords.txt"))


_PUNCT_OR_SPACE = re.compile(r"^[\W_]+$")


@lru_cache(maxsize=TEXT_CACHE)
def _cut(text: str) -> tuple[str, ...]:
    """jieba's segmentation, remembered for recent texts: one petition is segmented by the
    category model, the request-type model and the routing rules within the same request, and
    jieba is the costliest step of each (about 2 ms for a 400-character petition)."""
    return tuple(_get_tokenizer().lcut(text, HMM=True))


@lru_cache(maxsize=TEXT_CACHE)
def _cut_rjieba(text: str) -> tuple[str, ...]:
    """rjieba's segmentation (HMM on, as `_cut`), remembered like `_cut` (about 0.1 ms for a
    400-character petition, so the cache matters less)."""
    return tuple(_get_rjieba().cut(text, True))


_CUTTERS = {"jieba": _cut, "rjieba": _cut_rjieba}


def segment(text: str, segmenter: str = "jieba") -> tuple[str, ...]:
    """Every token of `text` (punctuation and spaces included) as `segmenter` splits it."""
    try:
        cut = _CUTTERS[segmenter]
    except KeyError:
        raise ValueError(f"segmenter must be one of {SEGMENTERS}, not {segmenter!r}") from None
    return cut(text)


def tokenize(text: str, *, drop_stopwords: bool = True, segmenter: str = "jieba") -> list[str]:
    """Words of already-normalised text, without punctuation and (by default) stop words.

    `segmenter` is "jieba" unless a classifier asks for the one it was trained with; retrieval,
    quality and topics always use jieba.
    """
    return list(_words(text, drop_stopwords, segmenter))


# token -> True when it is punctuation or space: a petition's ~150 tokens are mostly words seen
# before, so one dictionary lookup replaces a strip and a regular expression per token. Bounded:
# replaced by an empty one when it grows past _NOT_WORD_LIMIT distinct tokens (replaced, not
# cleared, so a call in another thread keeps the dictionary it filled).
_not_word: dict[str, bool] = {}
_NOT_WORD_LIMIT = 500_000


@lru_cache(maxsize=TEXT_CACHE)
def _words(text: str, drop_stopwords: bool, segmenter: str = "jieba") -> tuple[str, ...]:
    """`tokenize`'s filtered words, remembered like `_cut`: each model of a request asks again."""
    stop = stopwords() if drop_stopwords else frozenset()
    tokens = segment(text, segmenter)
    global _not_word
    if len(_not_word) > _NOT_WORD_LIMIT:
        _not_word = {}
    not_word = _not_word
    for token in set(tokens).difference(not_word):
        not_word[token] = not token.strip() or bool(_PUNCT_OR_SPACE.match(token))
    return tuple([w for w in tokens if not not_word[w] and w not in stop])


def clear_caches() -> None:
    """Forget every remembered text (normalised forms, segmentations, words): benchmarks call it
    to time a petition as a new one, which is what real traffic mostly is."""
    for cached in (_normalize, _cut, _cut_rjieba, _words):
        cached.cache_clear()
