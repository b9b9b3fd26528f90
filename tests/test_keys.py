"""Answer keys: from the values the PDF prints, valid against the documented schema."""

from pathlib import Path

import jsonschema
import pytest
from lms_chapter import (
    VERIFY,  # the LMS chapter's values: the key's chapter prints four of them
)

from solman.exports.keys import chapter_key, schema, write_keys
from solman.project.settings import load_project
from solman.rendering.render import render_chapter
from solman.rendering.sources import load_values

TEMPLATE = r"""\VAR{ problem("All kinds", 1) }
\BLOCK{ call question("1a", points=2, kind="mcq", answer=choice) }
Pick one. \begin{options}\item A\item B\end{options}
\BLOCK{ call solution() }(\VAR{ choice })\BLOCK{ endcall }
\BLOCK{ endcall }
\BLOCK{ call question("1b", points=1.5, kind="tf", answer=claim) }
True or false?
\BLOCK{ call solution() }False.\BLOCK{ endcall }
\BLOCK{ endcall }
\BLOCK{ call question("1c", answer=ratio) }
How big?
\BLOCK{ call solution() }$\VAR{ ratio | fixed(3) }$\BLOCK{ endcall }
\BLOCK{ endcall }
\BLOCK{ call question("1d", answer=q) }
Which matrix?
\BLOCK{ call solution() }$\VAR{ q }$\BLOCK{ endcall }
\BLOCK{ endcall }
\BLOCK{ call question("1e") }
Why?
\BLOCK{ call solution() }Because.\BLOCK{ endcall }
\BLOCK{ endcall }
"""


@pytest.fixture
def key(project_dir: Path) -> dict:
    (project_dir / "chapters" / "demo.tex.j2").write_text(TEMPLATE)
    (project_dir / "verify" / "demo.py").write_text(VERIFY)
    project = load_project(project_dir)
    chapter = project.chapter("demo")
    return chapter_key(render_chapter(project, chapter, load_values(project, chapter), "solutions"))


def test_every_kind_of_answer(key: dict):
    jsonschema.validate(key, schema())
    answers = {q["id"]: q["answer"] for q in key["questions"]}
    assert answers["1a"] == {"kind": "option", "value": "B", "latex": "B"}
    assert answers["1b"]["kind"] == "boolean" and answers["1b"]["value"] is False
    assert answers["1c"] == {"kind": "number", "value": 0.1234567, "exact": None, "tolerance": 0.0005,
                             "latex": "0.123"}
    assert answers["1d"]["kind"] == "matrix" and answers["1d"]["exact"] == [["1", "1/2"], ["0", "sqrt(2)"]]
    assert answers["1d"]["tolerance"] == 1e-12 and answers["1e"] is None
    points = {q["id"]: (q["type"], q["points"]) for q in key["questions"]}
    assert points["1a"] == ("mcq", 2) and points["1b"] == ("tf", 1.5) and points["1e"] == ("open", None)


def test_a_key_that_breaks_the_schema_is_refused(key: dict):
    key["questions"][0]["answer"]["value"] = "banana"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(key, schema())


def test_write_keys_writes_one_valid_file_per_chapter(project_dir: Path):
    project = load_project(project_dir)
    [path] = write_keys(project)
    assert path == project_dir / "build" / "keys" / "demo.json"
    import json

    jsonschema.validate(json.loads(path.read_text()), schema())


def test_the_csv_key_has_one_row_per_question_with_the_answer_a_grader_reads(project_dir: Path):
    import csv

    (project_dir / "chapters" / "demo.tex.j2").write_text(TEMPLATE)
    (project_dir / "verify" / "demo.py").write_text(VERIFY)
    [path] = write_keys(load_project(project_dir))
    rows = {row["question"]: row for row in csv.DictReader(path.with_suffix(".csv").open())}
    assert list(rows) == ["1a", "1b", "1c", "1d", "1e"]
    assert (rows["1a"]["answer"], rows["1a"]["type"], rows["1a"]["points"]) == ("B", "mcq", "2")
    assert rows["1b"]["answer"] == "false"
    assert (rows["1c"]["answer"], rows["1c"]["tolerance"], rows["1c"]["latex"]) == ("0.1234567", "0.0005", "0.123")
    assert rows["1d"]["exact"] == '[["1", "1/2"], ["0", "sqrt(2)"]]' and rows["1e"]["answer"] == ""


def test_an_answer_printed_only_in_parts_gets_its_whole_latex():
    """A tuple the solution prints entry by entry, or a dict of verdicts, still reads as one formula in the key."""
    import sympy as sp

    from solman.exports.keys import whole_latex

    assert whole_latex((sp.Rational(1, 5), 0)) == r"\frac{1}{5},\allowbreak\ 0"
    assert whole_latex({"i": "b", "ii": {"x": None}}) == \
        r"\text{i}\colon \text{b},\ \text{ii}\colon \left(\text{x}\colon \text{none}\right)"
    assert whole_latex(object()) == ""  # nothing to print: the key's value says it
