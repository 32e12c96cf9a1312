"""Fixtures for the drafting tests: a tiny sentence-transformers model built on disk, history rows.

The model is random (a one-layer BERT with a character vocabulary), which is enough to prove the
offline loading path and the stored-embedding plumbing; retrieval quality is measured by the
benchmark with real models, not here.
"""

from __future__ import annotations

import json
from pathlib import Path

from triage.retrieval.history import HistoryItem

PETITIONS = [
    (
        "h1",
        "住建局",
        "2025-01-06",
        "物业擅自上调物业费",
        "锦绣花园物业公司通知物业费从1.2元涨到1.8元，没有开业主大会。",
        "网友您好：经核实，物业公司未经业主大会表决擅自调价，我局已责令其撤回调价通知。",
    ),
    (
        "h2",
        "住建局",
        "2025-03-02",
        "小区电梯经常故障",
        "阳光小区3栋电梯一个月坏了四次，物业维修不及时。",
        "网友您好：经核查，该电梯维保单位保养不到位，已督促物业更换主板并加强维保。",
    ),
    (
        "h3",
        "城管局",
        "2025-02-10",
        "早餐摊占道经营",
        "东湖小区门口早餐摊占道经营，油烟大，人行道走不了。",
        "网友您好：城管中队已到现场劝导，划定临时疏导点，每天早上安排人员巡查。",
    ),
    (
        "h4",
        "人社局",
        "2025-04-01",
        "公司拖欠工资",
        "在城东区一家装修公司干活，老板拖欠我们三个月工资。",
        "网友您好：劳动保障监察大队已立案调查，责令该公司于4月15日前支付拖欠工资。",
    ),
    (
        "h5",
        "城管局",
        "2024-12-20",
        "路灯不亮",
        "滨江路一段路灯连续一周不亮，晚上走路很危险。",
        "网友您好：市政设施管理中心已更换损坏的电缆，路灯已恢复照明。",
    ),
]


def history_items() -> list[HistoryItem]:
    return [
        HistoryItem(id=i, text=f"{t}。{b}", reply=r, department=d, date=day)
        for i, d, day, t, b, r in PETITIONS
    ]


def build_tiny_sentence_transformer(path: Path) -> Path:
    """A one-layer BERT with a character vocabulary, saved as a sentence-transformers model."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    from tokenizers import Tokenizer, pre_tokenizers
    from tokenizers.models import WordLevel
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    chars = sorted({c for p in PETITIONS for field in p[3:] for c in field} | set("的是了我你他她它这那"))
    vocab = {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4}
    for c in chars:
        vocab.setdefault(c, len(vocab))
    tok = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Split("", behavior="isolated")
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=128,
    )
    raw = path / "raw"
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=130,
    )
    BertModel(config).save_pretrained(raw)
    fast.save_pretrained(raw)
    word = Transformer(str(raw), max_seq_length=128)
    pooling = Pooling(word.get_embedding_dimension(), pooling_mode="mean")
    model_dir = path / "tiny-st"
    SentenceTransformer(modules=[word, pooling], device="cpu").save(str(model_dir))
    assert json.loads((model_dir / "modules.json").read_text())
    return model_dir
