"""The manifest: outputs by digest, partial builds merged, unused renders dropped."""

import json
from pathlib import Path

import pytest

from solman.errors import DriftError
from solman.build.manifest import FORMAT, empty_manifest, load_manifest, load_outputs, merge, output_record
from solman.build.outputs import dump


def output(name: str, digest: str, render: str) -> dict:
    provenance = {"format": FORMAT, "solman": "provenance", "target": name.removesuffix(".pdf"), "output": name,
                  "edition": "solutions", "digest": digest, "inputs": {f"chapters/{render}.tex": render},
                  "chapters": {"c": {"name": f"chapters/{render}.tex", "values": []}}, "commit": "abc", "tools": {}}
    record, renders = output_record(provenance, "pdfsha", [])
    assert renders == {render: {"name": f"chapters/{render}.tex", "values": []}}
    assert record["chapters"] == {"c": render} and record["pdf"] == "pdfsha" and "format" not in record
    return record


def test_a_partial_build_keeps_the_records_of_outputs_it_did_not_rebuild():
    old = {"format": FORMAT, "renders": {"r1": {"n": 1}},
           "outputs": {"d1": output("manual.pdf", "d1", "r1"), "d2": output("chapters/c.pdf", "d2", "r1")}}
    final = merge(old, {"r2": {"n": 2}}, [output("chapters/c.pdf", "d3", "r2")])
    assert set(final["outputs"]) == {"d1", "d3"}
    assert set(final["renders"]) == {"r1", "r2"}


def test_renders_no_output_uses_are_dropped():
    old = {"format": FORMAT, "renders": {"r1": {}}, "outputs": {"d1": output("manual.pdf", "d1", "r1")}}
    final = merge(old, {"r2": {}}, [output("manual.pdf", "d2", "r2")])
    assert set(final["renders"]) == {"r2"} and set(final["outputs"]) == {"d2"}


def test_load_manifest(tmp_path: Path):
    assert load_manifest(tmp_path / "absent.json") == empty_manifest()
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(DriftError, match="cannot be read"):
        load_manifest(tmp_path / "bad.json")
    (tmp_path / "old.json").write_text(json.dumps({"format": 0}))
    with pytest.raises(DriftError, match="format 0"):
        load_manifest(tmp_path / "old.json")


def test_the_outputs_are_read_without_the_renders_after_them(tmp_path: Path):
    manifest = merge(empty_manifest(), {"r1": {"n": 1}}, [output("manual.pdf", "d1", "r1")])
    written = dump(manifest)
    (tmp_path / "manifest.json").write_bytes(written)
    assert load_outputs(tmp_path / "manifest.json") == manifest["outputs"] == load_manifest(
        tmp_path / "manifest.json")["outputs"]
    at = written.index(b',"renders":')  # what follows the outputs is not decoded: garbage there is not seen
    (tmp_path / "torn.json").write_bytes(written[:at] + b',"renders":{not json')
    assert load_outputs(tmp_path / "torn.json") == manifest["outputs"]
    renders_first = {"format": FORMAT, "renders": manifest["renders"], "outputs": manifest["outputs"]}
    (tmp_path / "renders-first.json").write_text(json.dumps(renders_first, separators=(",", ":")))
    assert load_outputs(tmp_path / "renders-first.json") == manifest["outputs"]
    (tmp_path / "old.json").write_text(json.dumps({"format": 0, "outputs": {}}, separators=(",", ":")))
    with pytest.raises(DriftError, match="format 0"):
        load_outputs(tmp_path / "old.json")
