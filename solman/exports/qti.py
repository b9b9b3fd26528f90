r"""IMS QTI 2.1 content packages: ``build/export/qti/<chapter>.zip``, for Canvas, Blackboard, ILIAS, OpenOLAT.

A package holds ``imsmanifest.xml`` (IMS Content Packaging 1.1, one ``imsqti_item_xmlv2p1``
resource per item), one ``assessmentItem`` file per question and its images under ``images/``. The
test suite validates every item and the manifest against the IMS schemas (``tests/schemas/qti21``).

Each item declares its correct response and scores its points in ``responseProcessing``:

- multiple choice and true/false: a ``choiceInteraction`` (options lettered as in the PDF, not
  shuffled), the correct identifier matched;
- numerical: a ``textEntryInteraction`` of base type float, scored when ``equal`` with
  ``toleranceMode="absolute"`` and the answer's tolerance;
- short answer: a ``textEntryInteraction`` of base type string, matched;
- essay: an ``extendedTextInteraction``, scored by a grader.

The worked solution is a ``modalFeedback`` shown after the response. QTI's body is a subset of
XHTML without ``style``: the HTML of solman.exports.html is reduced to it here. Formulas stay TeX
between ``\( \)``, which Canvas and ILIAS typeset.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
import zipfile

from solman.exports.banks import Bank, Entry
from solman.exports.moodle import PLUGINFILE

QTI = "http://www.imsglobal.org/xsd/imsqti_v2p1"
CP = "http://www.imsglobal.org/xsd/imscp_v1p1"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
QTI_LOCATION = f"{QTI} http://www.imsglobal.org/xsd/qti/qtiv2p1/imsqti_v2p1.xsd"
CP_LOCATION = f"{CP} http://www.imsglobal.org/xsd/imscp_v1p1.xsd"
FIXED_DATE = (2026, 1, 1, 0, 0, 0)
# the XHTML elements a QTI 2.1 body may hold, and the attributes kept on them
ALLOWED = {"p", "div", "span", "strong", "em", "code", "br", "ul", "ol", "li", "table", "tbody", "tr", "td", "th",
           "img", "a", "blockquote", "h3", "h4", "h5", "h6", "b", "i", "sub", "sup", "pre"}
RENAMED = {"u": "span"}
ATTRIBUTES = {"img": {"src", "alt", "width", "height"}, "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"},
              "a": {"href"}}
INLINE = {"span", "strong", "em", "code", "br", "img", "a", "b", "i", "sub", "sup"}


def qti_package(banks: list[Bank], title: str) -> bytes:
    """The zip of one chapter's items (every variant's, for a variant chapter)."""
    files: dict[str, bytes] = {}
    resources = []
    for bank in banks:
        for entry in bank.entries:
            identifier = item_identifier(bank, entry)
            href = f"{identifier}.xml"
            files[href] = assessment_item(entry, identifier, bank.variant)
            images = [f"images/{name}" for name in dict.fromkeys(PLUGINFILE.findall(
                entry.text + entry.solution + "".join(entry.options)))]
            for name in images:
                files[name] = bank.files[name.split("/", 1)[1]]
            resources.append((identifier, href, images))
    files = {"imsmanifest.xml": manifest(banks[0], resources, title), **files}
    content = io.BytesIO()
    with zipfile.ZipFile(content, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            bundle.writestr(info, data)
    return content.getvalue()


def item_identifier(bank: Bank, entry: Entry) -> str:
    """An identifier that is also a file name: letters, digits, ``-``, ``_`` and ``.``."""
    raw = f"{bank.chapter}-{entry.item.id}" + (f"-{bank.variant}" if bank.variant else "")
    return "i-" + re.sub(r"[^A-Za-z0-9_.-]+", "_", raw).strip("_")


def manifest(bank: Bank, resources: list[tuple[str, str, list[str]]], title: str) -> bytes:
    ET.register_namespace("", CP)
    ET.register_namespace("xsi", XSI)
    root = ET.Element(f"{{{CP}}}manifest", {"identifier": f"m-{re.sub(r'[^A-Za-z0-9_.-]', '_', bank.chapter)}",
                                            f"{{{XSI}}}schemaLocation": CP_LOCATION})
    metadata = ET.SubElement(root, f"{{{CP}}}metadata")
    ET.SubElement(metadata, f"{{{CP}}}schema").text = "QTIv2.1 Package"
    ET.SubElement(metadata, f"{{{CP}}}schemaversion").text = "1.0.0"
    ET.SubElement(root, f"{{{CP}}}organizations")
    listed = ET.SubElement(root, f"{{{CP}}}resources")
    for identifier, href, images in resources:
        resource = ET.SubElement(listed, f"{{{CP}}}resource", identifier=f"r-{identifier}",
                                 type="imsqti_item_xmlv2p1", href=href)
        for file in [href, *images]:
            ET.SubElement(resource, f"{{{CP}}}file", href=file)
    del title
    return serialised(root)


def assessment_item(entry: Entry, identifier: str, variant: str | None) -> bytes:
    item = entry.item
    ET.register_namespace("", QTI)
    ET.register_namespace("xsi", XSI)
    q = lambda tag: f"{{{QTI}}}{tag}"
    title = f"{item.chapter} {item.name}" + (f" ({variant})" if variant else "")
    root = ET.Element(q("assessmentItem"), {"identifier": identifier, "title": title, "adaptive": "false",
                                            "timeDependent": "false", f"{{{XSI}}}schemaLocation": QTI_LOCATION})
    points = float(item.points if item.points is not None else 1)
    base_type, correct = RESPONSES[item.kind](entry)
    response = ET.SubElement(root, q("responseDeclaration"), identifier="RESPONSE", cardinality="single",
                             baseType=base_type)
    if correct is not None:
        ET.SubElement(ET.SubElement(response, q("correctResponse")), q("value")).text = correct
    outcome(root, "SCORE", "float", "0")
    outcome(root, "MAXSCORE", "float", repr(points))
    outcome(root, "FEEDBACK", "identifier", None)
    body = ET.SubElement(root, q("itemBody"))
    blocks(body, entry.text)
    interaction(body, entry, q)
    processing(root, entry, points, q)
    feedback = ET.SubElement(root, q("modalFeedback"), outcomeIdentifier="FEEDBACK", identifier="SOLUTION",
                             showHide="show")
    blocks(feedback, entry.solution)
    return serialised(root)


RESPONSES = {
    "multichoice": lambda e: ("identifier", str(e.item.answer["value"])),
    "truefalse": lambda e: ("identifier", "true" if e.item.answer["value"] else "false"),
    "numerical": lambda e: ("float", repr(float(e.item.answer["value"]))),
    "shortanswer": lambda e: ("string", str(e.item.answer["value"])),
    "essay": lambda e: ("string", None),
}


def outcome(root: ET.Element, identifier: str, base_type: str, default: str | None) -> None:
    declared = ET.SubElement(root, f"{{{QTI}}}outcomeDeclaration", identifier=identifier, cardinality="single",
                             baseType=base_type)
    if default is not None:
        ET.SubElement(ET.SubElement(declared, f"{{{QTI}}}defaultValue"), f"{{{QTI}}}value").text = default


def interaction(body: ET.Element, entry: Entry, q) -> None:
    kind = entry.item.kind
    if kind in ("multichoice", "truefalse"):
        choices = ET.SubElement(body, q("choiceInteraction"), responseIdentifier="RESPONSE", shuffle="false",
                                maxChoices="1")
        options = entry.options if kind == "multichoice" else ["true", "false"]
        for index, option in enumerate(options):
            identifier = chr(ord("A") + index) if kind == "multichoice" else option
            choice = ET.SubElement(choices, q("simpleChoice"), identifier=identifier)
            inline(choice, option)
    elif kind == "essay":
        ET.SubElement(body, q("extendedTextInteraction"), responseIdentifier="RESPONSE", expectedLines="15")
    else:
        paragraph = ET.SubElement(body, q("p"))
        ET.SubElement(paragraph, q("textEntryInteraction"), responseIdentifier="RESPONSE", expectedLength="20")


def processing(root: ET.Element, entry: Entry, points: float, q) -> None:
    rules = ET.SubElement(root, q("responseProcessing"))
    if entry.item.kind != "essay":
        condition = ET.SubElement(rules, q("responseCondition"))
        branch = ET.SubElement(condition, q("responseIf"))
        if entry.item.kind == "numerical":
            tolerance = repr(float(entry.item.answer["tolerance"]))
            test = ET.SubElement(branch, q("equal"), toleranceMode="absolute", tolerance=f"{tolerance} {tolerance}")
        else:
            test = ET.SubElement(branch, q("match"))
        ET.SubElement(test, q("variable"), identifier="RESPONSE")
        ET.SubElement(test, q("correct"), identifier="RESPONSE")
        set_outcome(branch, "SCORE", "float", repr(points), q)
        set_outcome(ET.SubElement(condition, q("responseElse")), "SCORE", "float", "0.0", q)
    set_outcome(rules, "FEEDBACK", "identifier", "SOLUTION", q)


def set_outcome(parent: ET.Element, identifier: str, base_type: str, value: str, q) -> None:
    rule = ET.SubElement(parent, q("setOutcomeValue"), identifier=identifier)
    ET.SubElement(rule, q("baseValue"), baseType=base_type).text = value


# --- HTML as QTI's XHTML -----------------------------------------------------------------------

def blocks(parent: ET.Element, html: str) -> None:
    """``html`` (paragraphs, lists, tables) as QTI block content of ``parent``."""
    for element in fragment(html):
        if element.tag in INLINE or element.tag == "text":
            wrapper = ET.SubElement(parent, f"{{{QTI}}}p")
            adopt(wrapper, element)
        else:
            adopt(parent, element)


def inline(parent: ET.Element, html: str) -> None:
    """``html`` (an option) as the content of ``parent``."""
    holder = ET.fromstring(f"<div>{html}</div>")
    parent.text = holder.text
    for child in holder:
        adopt(parent, child)


def fragment(html: str) -> list[ET.Element]:
    """The top-level nodes of ``html``; text between elements becomes a pseudo-element ``text``."""
    holder = ET.fromstring(f"<div>{images(html)}</div>")
    nodes = []
    if holder.text and holder.text.strip():
        text = ET.Element("text")
        text.text = holder.text
        nodes.append(text)
    for child in holder:
        tail, child.tail = child.tail, None
        nodes.append(child)
        if tail and tail.strip():
            text = ET.Element("text")
            text.text = tail
            nodes.append(text)
    return nodes


def adopt(parent: ET.Element, element: ET.Element) -> None:
    """Append a QTI copy of ``element`` (renamed, stripped of attributes QTI does not allow) to ``parent``."""
    if element.tag == "text":
        if len(parent):
            parent[-1].tail = (parent[-1].tail or "") + element.text
        else:
            parent.text = (parent.text or "") + element.text
        return
    tag = RENAMED.get(element.tag, element.tag if element.tag in ALLOWED else "span")
    kept = {k: v for k, v in element.attrib.items() if k in ATTRIBUTES.get(tag, set())}
    if tag == "img":
        kept.setdefault("alt", "figure")
    copy = ET.SubElement(parent, f"{{{QTI}}}{tag}", kept)
    copy.text = element.text
    for child in element:
        adopt(copy, child)
    copy.tail = element.tail


def images(html: str) -> str:
    return html.replace("@@PLUGINFILE@@/", "images/")


def serialised(root: ET.Element) -> bytes:
    ET.indent(root, space=" ")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8") + b"\n"
