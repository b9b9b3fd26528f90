r"""Moodle XML question banks: ``build/export/moodle/<chapter>.xml``, imported by Question bank > Import.

The format is the one Moodle's own importer reads (``question/format/xml/format.php`` in
moodle/moodle, and https://docs.moodle.org/en/Moodle_XML_format); the test suite validates every
file against ``tests/schemas/moodle/moodle-xml.xsd``, written from that importer. Each chapter is a
category (``$course$/top/<manual>/<chapter>``) holding one question per item:

- ``multichoice``: one correct option, the options in the PDF's order and lettered as there
  (``answernumbering`` ABCD, not shuffled, so the solution's "(F)" names the right one), with a
  feedback for each option;
- ``truefalse``;
- ``numerical``: the value as the solution computes it, accepted within its tolerance (half a unit
  of the last printed digit, or the question's ``tol=``);
- ``shortanswer``: the text;
- ``essay``: the worked solution for graders (``graderinfo``).

Every question has its worked solution as general feedback. Formulas are TeX for the MathJax
filter; figures travel inside the file as ``<file>`` elements, referred to as ``@@PLUGINFILE@@/name``.
A variant chapter has one category per question, each holding that question in every variant,
so that a quiz's "random question from category" gives each student one variant.
"""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET

from solman.exports.banks import Bank, Entry

PLUGINFILE = re.compile(r"@@PLUGINFILE@@/([^\"'<>\s]+)")


def moodle_xml(banks: list[Bank], top: str) -> bytes:
    """One Moodle XML file holding ``banks`` (one chapter, or one chapter's variants) under ``top``."""
    quiz = ET.Element("quiz")
    first = banks[0]
    if len(banks) == 1:
        category(quiz, f"{top}/{first.title}")
        for entry in first.entries:
            question(quiz, entry, first.files)
    else:  # variants: one category per question, one question per variant in it
        for index, entry in enumerate(first.entries):
            category(quiz, f"{top}/{first.title}/{entry.item.name}")
            for bank in banks:
                question(quiz, bank.entries[index], bank.files, bank.variant)
    ET.indent(quiz, space=" ")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(quiz, encoding="utf-8") + b"\n"


def category(quiz: ET.Element, path: str) -> None:
    """A category question: the questions after it go into ``path`` (created on import)."""
    element = ET.SubElement(quiz, "question", type="category")
    ET.SubElement(ET.SubElement(element, "category"), "text").text = path
    info = ET.SubElement(element, "info", format="html")
    ET.SubElement(info, "text").text = ""
    ET.SubElement(element, "idnumber").text = ""


def question(quiz: ET.Element, entry: Entry, files: dict[str, bytes], variant: str | None = None) -> None:
    """One question: the parts every type has (format.php's import_headers), then its type's."""
    item = entry.item
    suffix = f" ({variant})" if variant else ""
    element = ET.SubElement(quiz, "question", type=item.kind)
    ET.SubElement(ET.SubElement(element, "name"), "text").text = f"{item.name}{suffix}"
    html_field(element, "questiontext", entry.text, files)
    html_field(element, "generalfeedback", entry.solution, files)
    ET.SubElement(element, "defaultgrade").text = number(item.points if item.points is not None else 1)
    ET.SubElement(element, "penalty").text = "0"
    ET.SubElement(element, "hidden").text = "0"
    ET.SubElement(element, "idnumber").text = ":".join([item.chapter, item.id, *([variant] if variant else [])])
    getattr(Writers, item.kind)(element, entry, files)


class Writers:
    """The part of each question type after the common fields (format.php's import_<type>)."""

    @staticmethod
    def multichoice(element: ET.Element, entry: Entry, files: dict[str, bytes]) -> None:
        ET.SubElement(element, "single").text = "true"
        ET.SubElement(element, "shuffleanswers").text = "false"  # the solution names options by letter
        ET.SubElement(element, "answernumbering").text = "ABCD"
        ET.SubElement(element, "showstandardinstruction").text = "0"
        for name in ("correctfeedback", "partiallycorrectfeedback", "incorrectfeedback"):
            html_field(element, name, "", files)
        correct = ord(entry.item.answer["value"]) - ord("A")
        for index, option in enumerate(entry.options):
            answer = ET.SubElement(element, "answer", fraction="100" if index == correct else "0", format="html")
            ET.SubElement(answer, "text").text = option
            attach(answer, option, files)
            html_field(answer, "feedback", entry.feedback(index == correct), files)

    @staticmethod
    def truefalse(element: ET.Element, entry: Entry, files: dict[str, bytes]) -> None:
        truth = bool(entry.item.answer["value"])
        for value in (True, False):
            answer = ET.SubElement(element, "answer", fraction="100" if value == truth else "0",
                                   format="moodle_auto_format")
            ET.SubElement(answer, "text").text = "true" if value else "false"
            html_field(answer, "feedback", entry.feedback(value == truth), files)

    @staticmethod
    def numerical(element: ET.Element, entry: Entry, files: dict[str, bytes]) -> None:
        answer = ET.SubElement(element, "answer", fraction="100", format="moodle_auto_format")
        ET.SubElement(answer, "text").text = repr(float(entry.item.answer["value"]))
        ET.SubElement(answer, "tolerance").text = repr(float(entry.item.answer["tolerance"]))
        html_field(answer, "feedback", entry.feedback(True), files)
        ET.SubElement(element, "unitgradingtype").text = "0"
        ET.SubElement(element, "unitpenalty").text = "0.1000000"
        ET.SubElement(element, "showunits").text = "3"  # no units
        ET.SubElement(element, "unitsleft").text = "0"

    @staticmethod
    def shortanswer(element: ET.Element, entry: Entry, files: dict[str, bytes]) -> None:
        ET.SubElement(element, "usecase").text = "0"
        answer = ET.SubElement(element, "answer", fraction="100", format="moodle_auto_format")
        ET.SubElement(answer, "text").text = str(entry.item.answer["value"])
        html_field(answer, "feedback", entry.feedback(True), files)

    @staticmethod
    def essay(element: ET.Element, entry: Entry, files: dict[str, bytes]) -> None:
        ET.SubElement(element, "responseformat").text = "editor"
        ET.SubElement(element, "responserequired").text = "1"
        ET.SubElement(element, "responsefieldlines").text = "15"
        ET.SubElement(element, "attachments").text = "0"
        ET.SubElement(element, "attachmentsrequired").text = "0"
        html_field(element, "graderinfo", entry.solution, files)
        html_field(element, "responsetemplate", "", files)


def html_field(parent: ET.Element, name: str, html: str, files: dict[str, bytes]) -> ET.Element:
    element = ET.SubElement(parent, name, format="html")
    ET.SubElement(element, "text").text = html
    attach(element, html, files)
    return element


def attach(element: ET.Element, html: str, files: dict[str, bytes]) -> None:
    """The files ``html`` refers to, inside ``element`` (Moodle keeps files per text field)."""
    for name in dict.fromkeys(PLUGINFILE.findall(html)):
        file = ET.SubElement(element, "file", name=name, path="/", encoding="base64")
        file.text = base64.b64encode(files[name]).decode("ascii")


def number(value: float) -> str:
    return f"{float(value):.7f}"
