"""Mandarin text normalisation for TTS prompts: numbers, money, dates, times, percentages,
decimals and phone or account numbers rewritten as Chinese characters, so espeak-ng's
``cmn-latn-pinyin`` voice reads them as a person would (it reads characters, not digits).

Rules (table tests in ``tests/unit/test_textnorm.py``):
- integers: 万/亿 grouping, one 零 for any run of zeros between digits (10010 -> 一万零一十,
  100000001 -> 一亿零一), a leading 一十 read 十 (10 -> 十, 150000 -> 十五万), 负 for minus;
  thousands separators allowed (1,234 -> 一千二百三十四);
- money: ``[¥￥]`` prefix and/or ``元`` suffix; 元/角/分, 零 before a lone 分
  (1.05元 -> 一元零五分), 整 when decimals were written and are all zero
  (100.00元 -> 一百元整), no 零元 before 角/分 (0.05元 -> 五分);
- dates ``YYYY-MM-DD``, ``YYYY/MM/DD``, ``YYYY年M月D日``, ``YYYY年``: the year digit by digit
  (2026-11-25 -> 二零二六年十一月二十五日); times ``H:MM[:SS]`` (14:05 -> 十四点零五分,
  14:00 -> 十四点整);
- percentages (12.5% -> 百分之十二点五) and decimals (3.14 -> 三点一四, digits after the point);
- digit strings read digit by digit: 7 or more digits without separators (phone, account and
  order numbers), or any number of digits with a leading 0 (0571); ``yao=True`` reads 1 as 幺
  in these, as operators do on the phone; ``010-12345678`` is two digit strings and a pause;
- a minus sign is read 负 only where it cannot be a hyphen (not after a Latin letter or digit).
Anything else is left untouched. Pure string functions; no I/O.
"""

from __future__ import annotations

import re
from decimal import Decimal

__all__ = ["normalize", "number_to_chinese", "read_digits"]

_DIGITS = "零一二三四五六七八九"
_UNITS = ("", "十", "百", "千")
_GROUPS = ("", "万", "亿", "万亿")
_PHONE_MIN = 7


def read_digits(digits: str, *, yao: bool = False) -> str:
    """Each digit as its character (``13812345678`` -> 一三八一二三四五六七八)."""
    table = str.maketrans("0123456789", "零幺二三四五六七八九" if yao else _DIGITS)
    return digits.translate(table)


def _group(value: int) -> str:
    """0 < value < 10000, with inner 零 (1010 -> 一千零一十); no leading 零."""
    out: list[str] = []
    zero = False
    for position in range(3, -1, -1):
        digit = value // 10**position % 10
        if digit == 0:
            zero = bool(out)
            continue
        if zero:
            out.append("零")
            zero = False
        out.append(_DIGITS[digit] + _UNITS[position])
    return "".join(out)


def number_to_chinese(value: int) -> str:
    """A cardinal number in Chinese (10010 -> 一万零一十, 20 -> 二十, 10 -> 十)."""
    if value < 0:
        return "负" + number_to_chinese(-value)
    if value == 0:
        return "零"
    if value >= 10**16:
        return read_digits(str(value))
    groups = []
    while value:
        groups.append(value % 10000)
        value //= 10000
    out: list[str] = []
    pending_zero = False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            pending_zero = bool(out)
            continue
        if out and (pending_zero or group < 1000):
            out.append("零")  # 1,0010 -> 一万零一十; 1,0000,0001 -> 一亿零一
        out.append(_group(group) + _GROUPS[index])
        pending_zero = False
    text = "".join(out)
    return text[1:] if text.startswith("一十") else text


def _decimal(text: str) -> str:
    whole, _, fraction = text.partition(".")
    out = number_to_chinese(int(whole))
    return out + "点" + read_digits(fraction) if fraction else out


def _money(sign: str, whole: str, fraction: str | None) -> str:
    yuan = int(whole.replace(",", ""))
    cents = (fraction or "").ljust(2, "0")[:2]
    jiao, fen = int(cents[0]), int(cents[1])
    prefix = "负" if sign else ""
    out = number_to_chinese(yuan) + "元" if yuan or not (jiao or fen) else ""
    if jiao:
        out += _DIGITS[jiao] + "角"
    if fen:
        out += ("零" if yuan and not jiao else "") + _DIGITS[fen] + "分"
    if fraction is not None and not (jiao or fen):
        out += "整"
    return prefix + out


def _date(year: str, month: str, day: str) -> str | None:
    m, d = int(month), int(day)
    if not (1 <= m <= 12 and 1 <= d <= 31):
        return None
    return f"{read_digits(year)}年{number_to_chinese(m)}月{number_to_chinese(d)}日"


def _time(hour: str, minute: str, second: str | None) -> str | None:
    h, m, s = int(hour), int(minute), int(second or 0)
    if h > 24 or m > 59 or s > 59:
        return None
    out = number_to_chinese(h) + "点"
    if not (m or s):
        return out + "整"
    out += ("零" if m < 10 else "") + number_to_chinese(m) + "分"
    if s:
        out += number_to_chinese(s) + "秒"
    return out


_SIGN = r"(?:(?<![A-Za-z0-9.])-)?"
_PATTERN = re.compile(
    r"(?P<date>(?<!\d)(?P<y>\d{4})(?:[-/](?P<m>\d{1,2})[-/](?P<d>\d{1,2})(?!\d)"
    r"|年(?P<m2>\d{1,2})月(?P<d2>\d{1,2})日))"
    r"|(?P<year>(?<!\d)\d{4}(?=年))"
    r"|(?P<phone>(?<![\w-])(?P<area>0\d{2,3})-(?P<local>\d{7,8})(?![\w-]))"
    r"|(?P<time>(?<![\d.])(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?(?!\d))"
    r"|(?P<money>(?P<msign>" + _SIGN + r")[¥￥]\s?(?P<mw>\d[\d,]*)(?:\.(?P<mf>\d{1,2}))?\s?元?"
    r"|(?P<msign2>" + _SIGN + r")(?P<mw2>\d[\d,]*)(?:\.(?P<mf2>\d{1,2}))?\s?元)"
    r"|(?P<percent>(?P<p>" + _SIGN + r"\d+(?:\.\d+)?)\s?[%％])"
    r"|(?P<number>" + _SIGN + r"(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?))"
)


def _replace(match: re.Match[str], yao: bool) -> str:
    g = match.groupdict()
    if g["date"]:
        if g["m"] is None:
            return f"{read_digits(g['y'])}年{number_to_chinese(int(g['m2']))}月" + (
                f"{number_to_chinese(int(g['d2']))}日"
            )
        return _date(g["y"], g["m"], g["d"]) or match.group(0)
    if g["year"]:
        return read_digits(g["year"])
    if g["phone"]:
        return read_digits(g["area"], yao=yao) + "，" + read_digits(g["local"], yao=yao)
    if g["time"]:
        return _time(g["h"], g["mi"], g["s"]) or match.group(0)
    if g["money"]:
        if g["mw"] is not None:
            return _money(g["msign"] or "", g["mw"], g["mf"])
        return _money(g["msign2"] or "", g["mw2"], g["mf2"])
    if g["percent"]:
        value = g["p"]
        sign = "负" if value.startswith("-") else ""
        return sign + "百分之" + _decimal(value.lstrip("-"))
    return _number(g["number"], yao)


def _number(text: str, yao: bool) -> str:
    sign = "负" if text.startswith("-") else ""
    body = text.lstrip("-")
    if "," in body:
        return sign + _decimal(body.replace(",", ""))
    whole = body.partition(".")[0]
    if "." not in body and (len(whole) >= _PHONE_MIN or (len(whole) > 1 and whole[0] == "0")):
        return ("-" if sign else "") + read_digits(whole, yao=yao)
    return sign + _decimal(str(Decimal(body)) if "." in body else body)


def normalize(text: str, *, yao: bool = False) -> str:
    """Rewrite the numbers in ``text`` as Chinese characters for TTS."""
    return _PATTERN.sub(lambda m: _replace(m, yao), text)
