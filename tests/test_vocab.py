from tuiwriter.text.vocab import BASE_CHARS, UNK, Vocab


def test_every_vocabulary_has_ascii_tab_newline_and_unknown():
    v = Vocab.build(["only lowercase letters here"])
    assert v.chars[0] == UNK
    for ch in BASE_CHARS:
        assert v.id_of(ch) != 0, repr(ch)
    assert v.decode(v.encode("{code} [x] <b>\tend\n")) == "{code} [x] <b>\tend\n"


def test_unseen_characters_map_to_unknown_and_rare_ones_are_dropped():
    v = Vocab.build(["caf\u00e9 " * 10 + "\u4e2d"])
    assert v.id_of("\u00e9") != 0  # seen often enough
    assert v.id_of("\u4e2d") == 0  # seen once
    assert v.id_of("\u0416") == 0  # never seen


def test_typographic_punctuation_folds_one_for_one_onto_ascii():
    v = Vocab.build(["x"])
    text = "\u201cIt\u2019s\u201d \u2014 she said"
    ids = v.encode(text)
    assert len(ids) == len(text)  # one document character, one model step
    assert v.decode(ids) == "\"It's\" - she said"
