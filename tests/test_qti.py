"""QTI 2.1 packages: every item and the manifest valid against the IMS schemas vendored in tests/schemas/qti21,
every item and image listed in the manifest."""

from __future__ import annotations

import pytest
from lms_chapter import QTI_NS, qti_invalid, qti_items, zip_names

CP = {"cp": "http://www.imsglobal.org/xsd/imscp_v1p1"}


@pytest.fixture
def package(lms_exports):
    assert lms_exports["qti"].warnings == []
    return lms_exports["qti"].paths[0]


def test_every_item_and_the_manifest_are_valid(package):
    assert qti_invalid(package) == []


def test_the_manifest_lists_every_item_and_its_images(package):
    files = qti_items(package)
    manifest = files.pop("imsmanifest.xml")
    listed = {r.get("href"): [f.get("href") for f in r.iterfind("cp:file", CP)]
              for r in manifest.iterfind(".//cp:resource", CP)}
    assert set(listed) == set(files) and len(files) == 8
    images = [name for name in zip_names(package) if name.startswith("images/")]
    assert len(images) == 1 and images[0] in listed["i-demo-1d.xml"]
    assert all(r.get("type") == "imsqti_item_xmlv2p1" for r in manifest.iterfind(".//cp:resource", CP))


def test_each_item_scores_its_points_for_the_correct_response(package):
    items = qti_items(package)
    choice = items["i-demo-1a.xml"]
    assert choice.findtext(".//q:correctResponse/q:value", namespaces=QTI_NS) == "B"
    assert [c.get("identifier") for c in choice.iterfind(".//q:simpleChoice", QTI_NS)] == ["A", "B"]
    assert choice.find(".//q:choiceInteraction", QTI_NS).get("shuffle") == "false"
    assert choice.findtext(".//q:responseIf/q:setOutcomeValue/q:baseValue", namespaces=QTI_NS) == "2.0"
    truth = items["i-demo-1b.xml"]
    assert truth.findtext(".//q:correctResponse/q:value", namespaces=QTI_NS) == "false"
    short = items["i-demo-1f.xml"]
    assert short.find("q:responseDeclaration", QTI_NS).get("baseType") == "string"
    assert short.findtext(".//q:correctResponse/q:value", namespaces=QTI_NS) == "ReLU"
    essay = items["i-demo-1h.xml"]
    assert essay.find(".//q:extendedTextInteraction", QTI_NS) is not None
    assert essay.findtext("q:modalFeedback/q:p", namespaces=QTI_NS) == "Because."
