"""Moodle XML: valid against the schema written from Moodle's importer (tests/schemas/moodle), options
lettered as in the PDF, a variant chapter as one category per question."""

from __future__ import annotations

import dataclasses

import pytest
from lms_chapter import moodle_invalid
from lxml import etree

from solman.exports.moodle import moodle_xml


@pytest.fixture
def banks(lms_exports):
    assert lms_exports["moodle"].warnings == []
    return lms_exports["moodle"].banks["demo"]


def test_the_file_is_valid_moodle_xml(banks, tmp_path):
    path = tmp_path / "demo.xml"
    path.write_bytes(moodle_xml(banks, "$course$/top/Fixture"))
    assert moodle_invalid(path) == []


def test_the_schema_refuses_what_moodle_would_not_import(banks, tmp_path):
    tree = etree.fromstring(moodle_xml(banks, "$course$/top/Fixture"))
    tree.find("question[@type='numerical']/answer/text").text = "about a third"  # not a number
    path = tmp_path / "broken.xml"
    path.write_bytes(etree.tostring(tree))
    assert moodle_invalid(path) != []


def test_a_multiple_choice_question_keeps_the_pdf_letters_and_marks_the_right_one(banks):
    tree = etree.fromstring(moodle_xml(banks, "$course$/top/Fixture"))
    question = tree.find("question[@type='multichoice']")
    assert question.findtext("shuffleanswers") == "false" and question.findtext("answernumbering") == "ABCD"
    answers = question.findall("answer")
    assert [a.get("fraction") for a in answers] == ["0", "100"]  # the answer is (B)
    assert [a.findtext("feedback/text") for a in answers] == ["The answer is (B).", "Correct."]
    assert "\\(x \\ge 1\\)" in answers[1].findtext("text") and "<strong>bold</strong>" in answers[1].findtext("text")
    assert "\\({\\mathbb{E}}[x] = 1\\)" in question.findtext("generalfeedback/text")  # the chapter's macro expanded
    truth = tree.find("question[@type='truefalse']")
    assert {a.findtext("text"): a.get("fraction") for a in truth.findall("answer")} == {"true": "0", "false": "100"}


def test_an_essay_carries_the_worked_solution_for_graders(banks):
    tree = etree.fromstring(moodle_xml(banks, "$course$/top/Fixture"))
    essay = tree.find("question[idnumber='demo:1h']")
    assert essay.findtext("graderinfo/text") == "<p>Because.</p>"
    assert "<ul><li>First reason.</li><li>Second reason.</li></ul>" in essay.findtext("questiontext/text")


def test_variants_make_one_category_per_question_with_one_question_per_variant(banks):
    variants = [dataclasses.replace(banks[0], variant=f"v00{n}") for n in (1, 2, 3)]
    tree = etree.fromstring(moodle_xml(variants, "$course$/top/Fixture"))
    categories = [q.findtext("category/text") for q in tree.iterfind("question[@type='category']")]
    assert len(categories) == len(banks[0].entries) and categories[0] == "$course$/top/Fixture/Every kind of question/1 (a)"
    children = list(tree)
    first = children.index(tree.find("question[@type='category']"))
    assert [q.findtext("idnumber") for q in children[first + 1:first + 4]] == ["demo:1a:v001", "demo:1a:v002",
                                                                              "demo:1a:v003"]
