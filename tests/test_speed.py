"""The float-against-int8 benchmark: both engines type the same text and report comparable rows."""

from __future__ import annotations

import re

import pytest

from tuiwriter.bench.speed import float_vs_int8
from tuiwriter.predict.predictor import int8_available


@pytest.mark.skipif(not int8_available(), reason="this PyTorch build has no int8 linear layers")
def test_float_and_int8_weights_are_measured_side_by_side_at_the_same_quality(tmp_path, capsys):
    text = tmp_path / "letter.txt"
    text.write_text("Dear Anna,\n\nThank you for the letter. I will write again when the weather turns, "
                    "and we will walk to the river and back as we did last spring.\n" * 3)
    float_vs_int8("default", [str(text)], 400)
    rows = capsys.readouterr().out.strip().splitlines()
    assert [row.split()[1] for row in rows] == ["int8", "float"]  # the first file starts with int8
    bits = [float(re.search(r"([\d.]+) bits/char", row).group(1)) for row in rows]
    assert abs(bits[0] - bits[1]) < 0.02
    assert all("keystroke" in row and "jump" in row for row in rows)
