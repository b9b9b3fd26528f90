"""Source maps: each line of generated LaTeX knows its template line."""

from solman.rendering.sourcemap import LINE_MARK, USE_MARK, remove_marks, strip_marks


def mark(line: int) -> str:
    return LINE_MARK.format(name="t.j2", line=line)


def test_each_output_line_maps_to_the_template_line_that_started_it():
    marked = f"{mark(1)}first\n{mark(2)}second {mark(2)}{USE_MARK.format(index=0)}value\n{mark(5)}fifth\n"
    text, sources, uses = strip_marks(marked)
    assert text == "first\nsecond value\nfifth\n"
    assert [sources.locate(n) for n in (1, 2, 3)] == [("t.j2", 1), ("t.j2", 2), ("t.j2", 5)]
    assert uses == {0: (("t.j2", 2), 2)}
    assert sources.locate(0) is None and sources.locate(4) is None


def test_lines_printed_by_a_value_belong_to_the_var_that_printed_them():
    marked = f"{mark(3)}$A = {mark(3)}\\begin{{bmatrix}}1\\\\\n2\\end{{bmatrix}}$\n{mark(4)}after\n"
    text, sources, _ = strip_marks(marked)
    assert text.splitlines()[1] == "2\\end{bmatrix}$"
    assert sources.locate(2) == ("t.j2", 3)
    assert sources.locate(3) == ("t.j2", 4)


def test_remove_marks():
    assert remove_marks(f"{mark(1)}a{USE_MARK.format(index=3)}b") == "ab"
