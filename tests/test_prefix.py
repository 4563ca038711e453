"""The common prefix of two texts, found without a Python loop over their characters."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tuiwriter.text.prefix import common_prefix_len


def test_common_prefix_len():
    assert common_prefix_len("", "abc") == 0
    assert common_prefix_len("abc", "abc") == 3
    assert common_prefix_len("abcdef", "abc") == 3
    assert common_prefix_len("abXdef", "abcdef") == 2
    assert common_prefix_len("a" * 1000 + "b", "a" * 1000 + "c") == 1000


@given(st.text("ab", max_size=40), st.text("ab", max_size=40))
def test_common_prefix_len_agrees_with_a_character_loop(a, b):
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    assert common_prefix_len(a, b) == n
