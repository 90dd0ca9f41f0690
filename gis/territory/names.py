"""Chinese names of drawn areas and generated workers (the synthetic district, the demo)."""

from __future__ import annotations

DIGITS = "零一二三四五六七八九"


def numeral(n: int) -> str:
    """``n`` (1–999) in Chinese numerals: 1 一, 10 十, 12 十二, 20 二十, 21 二十一, 100 一百,
    105 一百零五, 110 一百一十."""
    hundreds, rest = divmod(n, 100)
    if hundreds:
        tail = "" if rest == 0 else ("零" + numeral(rest) if rest < 10 else
                                     ("一" + numeral(rest) if rest < 20 else numeral(rest)))
        return DIGITS[hundreds] + "百" + tail
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else DIGITS[tens] + "十")
    return head + (DIGITS[ones] if ones or not head else "")


def street(s: int) -> str:
    """The ``s``-th street (1-based): 第一街道."""
    return f"第{numeral(s)}街道"


def community(s: int, c: int) -> str:
    """Community ``c`` of street ``s``: 1-2社区."""
    return f"{s}-{c}社区"


def grid(s: int, c: int, g: int) -> str:
    """Grid ``g`` of community ``c`` of street ``s``: 1-2-3网格."""
    return f"{s}-{c}-{g}网格"


def unit(n: int) -> str:
    """The ``n``-th minimal unit of a grid (its code's last three digits): 最小单元003."""
    return f"最小单元{n:03d}"


def worker(number: str) -> str:
    """A generated full-time grid worker: 网格员001001001."""
    return f"网格员{number}"


def leader(number: str) -> str:
    """A generated grid leader: 网格长001001."""
    return f"网格长{number}"
