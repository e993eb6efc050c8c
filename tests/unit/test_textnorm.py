"""Mandarin TTS text normalisation: table tests (expected strings written by hand)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callcenter.ivr.textnorm import normalize, number_to_chinese, read_digits


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "零"),
        (1, "一"),
        (10, "十"),
        (15, "十五"),
        (20, "二十"),
        (101, "一百零一"),
        (110, "一百一十"),
        (1001, "一千零一"),
        (1010, "一千零一十"),
        (1100, "一千一百"),
        (10000, "一万"),
        (10010, "一万零一十"),
        (100000, "十万"),
        (100010, "十万零一十"),
        (100100, "十万零一百"),
        (150000, "十五万"),
        (1000001, "一百万零一"),
        (20000000, "二千万"),
        (100000001, "一亿零一"),
        (120003400, "一亿二千万三千四百"),
        (10000000010, "一百亿零一十"),
        (1000000000000, "一万亿"),
        (-25, "负二十五"),
        (10**16, "一零零零零零零零零零零零零零零零零"),
    ],
)
def test_integers(value: int, text: str) -> None:
    assert number_to_chinese(value) == text


@pytest.mark.parametrize(
    ("source", "spoken"),
    [
        # money
        ("123.40元", "一百二十三元四角"),
        ("0.05元", "五分"),
        ("100.00元", "一百元整"),
        ("0.00元", "零元整"),
        ("100元", "一百元"),
        ("1.05元", "一元零五分"),
        ("1.5元", "一元五角"),
        ("12.34元", "十二元三角四分"),
        ("¥1,234.5", "一千二百三十四元五角"),
        ("￥ 8 元", "八元"),
        ("您的电费余额为-12.30元。", "您的电费余额为负十二元三角。"),
        ("12345678元", "一千二百三十四万五千六百七十八元"),
        # dates and times
        ("2026-11-25", "二零二六年十一月二十五日"),
        ("2026/1/5", "二零二六年一月五日"),
        ("2026年3月8日", "二零二六年三月八日"),
        ("2026年", "二零二六年"),
        ("2026/13/40", "2026/13/40"),
        ("14:05", "十四点零五分"),
        ("14:00", "十四点整"),
        ("9:30", "九点三十分"),
        ("09:30:15", "九点三十分十五秒"),
        ("25:99", "25:99"),
        ("2026-11-25 14:05", "二零二六年十一月二十五日 十四点零五分"),
        # phone and account numbers
        ("13812345678", "一三八一二三四五六七八"),
        ("010-12345678", "零一零，一二三四五六七八"),
        ("0571", "零五七一"),
        ("编号0012", "编号零零一二"),
        ("1 2 3 4", "一 二 三 四"),
        # percentages, decimals, plain numbers
        ("50%", "百分之五十"),
        ("12.5%", "百分之十二点五"),
        ("-3.5%", "负百分之三点五"),
        ("100％", "百分之一百"),
        ("3.14", "三点一四"),
        ("0.5", "零点五"),
        ("1,234,567", "一百二十三万四千五百六十七"),
        ("第3位", "第三位"),
        ("温度-5度", "温度负五度"),
        ("A-3", "A-三"),
        ("请按1号键", "请按一号键"),
        ("没有数字", "没有数字"),
    ],
)
def test_normalize(source: str, spoken: str) -> None:
    assert normalize(source) == spoken


def test_yao_reading_is_optional() -> None:
    assert normalize("13812345678", yao=True) == "幺三八幺二三四五六七八"
    assert normalize("010-11111111", yao=True) == "零幺零，幺幺幺幺幺幺幺幺"
    assert normalize("第1位", yao=True) == "第一位"  # cardinals keep 一
    assert read_digits("101") == "一零一"


@given(st.integers(min_value=0, max_value=10**16 - 1))
def test_cardinals_use_only_number_characters(value: int) -> None:
    text = number_to_chinese(value)
    assert set(text) <= set("零一二三四五六七八九十百千万亿")
    assert "零零" not in text
    assert not text.endswith("零") or value == 0
    assert not text.startswith("一十")


@given(st.text(alphabet="0123456789.,:-/%元年月日¥ 号abc中", max_size=30))
def test_normalize_never_fails(text: str) -> None:
    assert isinstance(normalize(text), str)


@given(st.integers(min_value=0, max_value=999_999))
def test_short_numbers_are_cardinals(value: int) -> None:
    assert normalize(f"共{value}次") == f"共{number_to_chinese(value)}次"
