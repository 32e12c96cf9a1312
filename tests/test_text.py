from triage.text import mask_pii, normalize, petition_text, tokenize


def test_traditional_becomes_simplified():
    assert normalize("醫院掛號難，鄰居噪音擾民") == "医院挂号难,邻居噪音扰民"


def test_full_width_digits_and_letters_become_half_width():
    assert normalize("ＡＢＣ１２３號樓") == "ABC123号楼"


def test_html_tags_and_entities_removed():
    assert normalize("<p>路灯&nbsp;不亮&amp;没人管</p><br/>") == "路灯 不亮&没人管"


def test_escaped_tags_are_removed_too():
    assert normalize("&lt;script&gt;alert(1)&lt;/script&gt;投诉") == "alert(1) 投诉"


def test_excel_carriage_return_artefact_and_whitespace():
    assert normalize("  第一行_x000D_\n\n第二行\t\t第三行 ") == "第一行 第二行 第三行"


def test_control_characters_and_lone_surrogates_dropped():
    assert normalize("噪\u0000音\u202e扰\ud800民\u200b") == "噪音扰民"


def test_empty_and_none():
    assert normalize("") == ""
    assert normalize(None) == ""
    assert normalize("   \n ") == ""


def test_petition_text_joins_title_and_body():
    assert petition_text("标题", "正文") == "标题。正文"
    assert petition_text("", "正文") == "正文"
    assert petition_text("标题", None) == "标题"


def test_mask_mobile_numbers():
    masked = mask_pii("我的电话13912345678，或者+86 138 1234 5678")
    assert "13912345678" not in masked and "139****5678" in masked
    assert "1234 5678" not in masked and "138****5678" in masked


def test_mask_landline():
    masked = mask_pii("请拨打0571-87654321联系")
    assert "87654321" not in masked and "0571-****4321" in masked


def test_mask_id_card_numbers():
    masked = mask_pii("身份证330106199001011234，旧证330106900101123")
    assert "199001011234" not in masked
    assert "3301**************" in masked
    assert "900101123" not in masked


def test_mask_bank_card():
    masked = mask_pii("工资卡6222021234567890123没收到钱")
    assert "6222021234567890123" not in masked
    assert "6222 **** ****" in masked


def test_mask_email():
    masked = mask_pii("邮箱 zhang.san@example.com")
    assert "zhang.san" not in masked and "z***@example.com" in masked


def test_mask_leaves_ordinary_numbers_alone():
    text = "2025年3月14日，小区5号楼，金额300元"
    assert mask_pii(text) == text


def test_tokenize_keeps_domain_words_whole_and_drops_stopwords():
    words = tokenize(normalize("我们小区的加装电梯和维修基金问题"))
    assert "加装电梯" in words
    assert "维修基金" in words
    assert "的" not in words and "我们" not in words


def test_tokenize_drops_punctuation():
    assert all(w not in {",", "。", "!"} for w in tokenize(normalize("噪音，太大了！")))
