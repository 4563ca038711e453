"""The engine's copy of the text: slicing, cutting and growing as a str would, without copying a
long document per keystroke."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tuiwriter.predict import doc_text
from tuiwriter.predict.doc_text import DocText


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet="abé\n", max_size=40),
       st.lists(st.tuples(st.sampled_from(["cut", "add"]), st.integers(0, 50), st.text(alphabet="xy", max_size=9)),
                max_size=12),
       st.integers(0, 60), st.integers(0, 60))
def test_it_behaves_as_the_str_it_stands_for(monkeypatch, start, ops, a, b):
    monkeypatch.setattr(doc_text, "TAIL_MAX", 5)  # compact often (the same value for every example)
    text, mirror = DocText(start), start
    for op, n, add in ops:
        if op == "cut":
            text.truncate(n)
            mirror = mirror[:n]
        else:
            text.append(add)
            mirror += add
        assert len(text) == len(mirror) and str(text) == mirror
        assert text[a:b] == mirror[a:b] and text[-3:] == mirror[-3:]
        if mirror:
            assert text[a % len(mirror)] == mirror[a % len(mirror)]
        other = mirror[:a] + "#" + mirror[a:]
        assert text.common_prefix_len(other) == min(a, len(mirror)) if a <= len(mirror) else True
        assert text.common_prefix_len(mirror + "z") == len(mirror)
        assert text.common_prefix_len(mirror[:b]) == min(b, len(mirror))
