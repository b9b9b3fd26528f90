"""Project settings: every mistake in [tool.solman] is reported at its line."""

from pathlib import Path

import pytest

from solman.errors import ConfigError, Errors
from solman.project.settings import load_project


def write_project(root: Path, settings: str, chapters=("one",)) -> Path:
    (root / "templates").mkdir(parents=True, exist_ok=True)
    (root / "chapters").mkdir(exist_ok=True)
    (root / "verify").mkdir(exist_ok=True)
    for chapter in chapters:
        (root / "chapters" / f"{chapter}.tex.j2").write_text("x\n")
        (root / "verify" / f"{chapter}.py").write_text("")
    (root / "pyproject.toml").write_text(f'[project]\nname = "x"\ntitle = "not ours"\n\n[tool.solman]\n{settings}')
    return root


def assert_reported_at(root: Path, settings: str, line: int, message: str) -> None:
    """Settings of a one-chapter project (a table of its own after ``chapters``, or keys of
    [tool.solman]) are refused with ``message`` at line ``line`` of pyproject.toml, with a hint."""
    write_project(root, settings.replace("[tool", 'chapters = ["one"]\n\n[tool', 1) if settings.startswith("[")
                  else 'chapters = ["one"]\n' + settings)
    with pytest.raises(ConfigError) as caught:
        load_project(root)
    assert message in caught.value.message
    assert str(caught.value.location) == f"pyproject.toml:{line}" and caught.value.hint


def test_settings_and_chapters_are_read(tmp_path: Path):
    project = load_project(write_project(tmp_path, 'title = "T"\nyear = 2024\nchapters = ["one"]\n'))
    assert project.title == "T" and project.year == 2024
    assert [c.id for c in project.chapters] == ["one"]
    assert project.chapters[0].verify == tmp_path / "verify" / "one.py"
    assert project.build == tmp_path / "build"


def test_missing_pyproject(tmp_path: Path):
    with pytest.raises(ConfigError, match="no pyproject.toml"):
        load_project(tmp_path)


def test_missing_table(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    with pytest.raises(ConfigError, match=r"no \[tool.solman\]"):
        load_project(tmp_path)


def test_invalid_toml_points_at_the_line(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text('[tool.solman]\ntitle = "T"\nyear = 20 26\nchapters = []\n')
    with pytest.raises(ConfigError) as caught:
        load_project(tmp_path)
    assert str(caught.value.location) == "pyproject.toml:3"
    (tmp_path / "pyproject.toml").write_text('[tool.solman]\ntitle = "T"\nchapters = [\n')
    with pytest.raises(ConfigError) as caught:
        load_project(tmp_path)
    assert str(caught.value.location) == "pyproject.toml:3"


def test_unknown_setting_is_reported_at_its_line(tmp_path: Path):
    write_project(tmp_path, 'title = "T"\ntitel = "typo"\nchapters = ["one"]\n')
    with pytest.raises(ConfigError, match="unknown setting 'titel'") as caught:
        load_project(tmp_path)
    assert str(caught.value.location) == "pyproject.toml:7"
    assert "known settings" in caught.value.hint


def test_wrong_type(tmp_path: Path):
    write_project(tmp_path, 'year = "2024"\nchapters = ["one"]\n')
    with pytest.raises(ConfigError, match="'year' must be a int"):
        load_project(tmp_path)


def test_bad_duplicate_and_missing_chapters_are_all_reported(tmp_path: Path):
    write_project(tmp_path, 'chapters = ["one", "Bad-Id", "one", "absent"]\n')
    with pytest.raises(Errors) as caught:
        load_project(tmp_path)
    messages = [e.message for e in caught.value.errors]
    assert any("'Bad-Id' is not valid" in m for m in messages)
    assert any("listed twice" in m for m in messages)
    assert any("chapters/absent.tex.j2, which does not exist" in m for m in messages)
    assert any("verify/absent.py, which does not exist" in m for m in messages)
    assert "(4 errors)" in caught.value.render()


def test_unknown_chapter_lists_the_known_ones(tmp_path: Path):
    project = load_project(write_project(tmp_path, 'chapters = ["one"]\n'))
    with pytest.raises(ConfigError, match=r"no chapter 'two' in this project \(chapters: one\)"):
        project.chapter("two")


def test_the_settings_an_author_leaves_out_take_their_defaults(tmp_path: Path):
    """The defaults README's settings table states."""
    project = load_project(write_project(tmp_path, 'chapters = ["one"]\n'))
    assert (project.title, project.templates, project.language, project.sandbox, project.timeout) == (
        "Solutions", tmp_path / "templates", "en", True, 300)
    assert load_project(write_project(tmp_path, 'language = "de"\nchapters = ["one"]\n')).language == "de"


def test_timeout_is_read_and_defaults_to_five_minutes(tmp_path: Path):
    assert load_project(write_project(tmp_path, 'chapters = ["one"]\n')).timeout == 300
    assert load_project(write_project(tmp_path, 'timeout = 2.5\nchapters = ["one"]\n')).timeout == 2.5


@pytest.mark.parametrize("setting", ["0", "-1", '"abc"', "true", "inf", "nan"])
def test_timeout_must_be_a_positive_number(tmp_path: Path, setting: str):
    write_project(tmp_path, f'title = "T"\ntimeout = {setting}\nchapters = ["one"]\n')
    with pytest.raises(ConfigError, match="setting 'timeout' must be a positive number of seconds") as caught:
        load_project(tmp_path)
    assert str(caught.value.location) == "pyproject.toml:7"


def test_answer_space_is_read_as_a_table_or_inline_and_is_none_by_default(tmp_path: Path):
    from solman.project.answerspace import AnswerSpace

    assert load_project(write_project(tmp_path, 'chapters = ["one"]\n')).answer_space == AnswerSpace()
    table = 'chapters = ["one"]\n\n[tool.solman.answer_space]\nspace = "3.5cm"\nfill = "lines"\n'
    assert load_project(write_project(tmp_path, table)).answer_space == AnswerSpace("3.5cm", "lines")
    inline = 'answer_space = {space = "stretch"}\nchapters = ["one"]\n'
    assert load_project(write_project(tmp_path, inline)).answer_space == AnswerSpace("stretch", None)
    assert load_project(write_project(tmp_path, 'answer_space = {space = 0}\nchapters = ["one"]\n')
                        ).answer_space == AnswerSpace("0", None)


@pytest.mark.parametrize("settings, line, message", [
    ('[tool.solman.answer_space]\nfill = "box"\nspace = "3"\n', 10, "answer_space: space '3' is not a length"),
    ('[tool.solman.answer_space]\nspace = "3cm"\nfill = "ruled"\n', 10, "answer_space: unknown fill 'ruled'"),
    ('[tool.solman.answer_space]\nspace = "3cm"\nfil = "box"\n', 10, "unknown setting 'fil' in answer_space"),
    ('[tool.solman.answer_space]\nspace = true\n', 9, "space must be a length in quotes"),
    ('answer_space = {fill = "box", space = "2 cm x"}\n', 7, "space '2 cm x' is not a length"),
    ('answer_space = "3cm"\n', 7, "setting 'answer_space' must be a dict"),
])
def test_answer_space_mistakes_are_reported_at_their_line(tmp_path: Path, settings: str, line: int, message: str):
    assert_reported_at(tmp_path, settings, line, message)


@pytest.mark.parametrize("year", ["99999999999", "0", "-5", "10000"])
def test_year_out_of_range_is_reported_at_its_line(tmp_path: Path, year: str):
    with pytest.raises(ConfigError) as caught:
        load_project(write_project(tmp_path, f'title = "T"\nyear = {year}\nchapters = ["one"]\n'))
    assert caught.value.message == f"year {year} is out of range"
    assert str(caught.value.location) == "pyproject.toml:7" and "between 1 and 9999" in caught.value.hint


def test_pyproject_that_is_not_utf8_is_reported_at_the_byte(tmp_path: Path):
    root = write_project(tmp_path, 'chapters = ["one"]\n')
    (root / "pyproject.toml").write_bytes((root / "pyproject.toml").read_bytes() + b'title = "Caf\xe9"\n')
    with pytest.raises(ConfigError) as caught:
        load_project(root)
    assert caught.value.message == "pyproject.toml is not UTF-8: byte 0xe9 at line 7, column 13"
    assert str(caught.value.location) == "pyproject.toml:7" and "UTF-8" in caught.value.hint


@pytest.mark.parametrize("file, data, category, line, message", [
    ("chapters/one.tex.j2", b"ok\nd\xe9j\xe0 vu\n", "template", 2,
     "chapters/one.tex.j2 is not UTF-8: byte 0xe9 at line 2, column 2"),
    ("templates/manual.tex.j2", b"\xff\n", "template", 1, "templates/manual.tex.j2 is not UTF-8: byte 0xff at line 1, column 1"),
    ("verify/one.py", b"# caf\xe9\n", "value", 1, "verify/one.py is not UTF-8: byte 0xe9 at line 1, column 6"),
    ("chapters/one.tex.j2", b"ok\nbell \x07 here\n", "template", 2,
     "control character U+0007 (BEL) at column 6, which LaTeX cannot print"),
    ("templates/solman.sty", b"\\relax\x1b\n", "template", 1, "control character U+001B (ESC) at column 7"),
])
def test_sources_that_are_not_utf8_or_hold_control_characters_are_found_before_rendering(
        tmp_path: Path, file: str, data: bytes, category: str, line: int, message: str):
    from solman.errors import SolmanError

    root = write_project(tmp_path, 'chapters = ["one"]\n')
    (root / file).write_bytes(data)
    with pytest.raises(SolmanError) as caught:
        load_project(root)
    assert caught.value.category == category and message in caught.value.message
    assert (caught.value.location.path, caught.value.location.line) == (file, line)
    assert caught.value.hint


def test_a_template_in_the_project_overrides_solmans_and_its_other_files_are_added(tmp_path: Path):
    from solman.project.settings import BUILTIN_TEMPLATES

    root = write_project(tmp_path, 'chapters = ["one"]\n')
    project = load_project(root)
    assert project.template("solman.sty") == BUILTIN_TEMPLATES / "solman.sty"
    (root / "templates" / "solman.sty").write_text("% mine\n")
    (root / "templates" / "figures").mkdir()
    (root / "templates" / "figures" / "logo.tex").write_text("logo\n")
    (root / "templates" / ".gitkeep").write_text("")
    (root / "templates" / "__pycache__").mkdir()
    (root / "templates" / "__pycache__" / "x.pyc").write_bytes(b"")
    files = project.template_files()
    assert project.template("solman.sty") == root / "templates" / "solman.sty" == files["solman.sty"]
    assert files["figures/logo.tex"] == root / "templates" / "figures" / "logo.tex"
    assert files["manual.tex.j2"] == BUILTIN_TEMPLATES / "manual.tex.j2" and ".gitkeep" not in files
    assert "__pycache__/x.pyc" not in files


def test_a_project_needs_no_templates_folder_unless_it_names_one(tmp_path: Path):
    root = write_project(tmp_path, 'chapters = ["one"]\n')
    (root / "templates").rmdir()
    assert load_project(root).template_folders[-1].name == "templates"
    (root / "pyproject.toml").write_text('[tool.solman]\nchapters = ["one"]\ntemplates = "shells"\n')
    with pytest.raises(ConfigError, match="the templates folder .*shells does not exist") as caught:
        load_project(root)
    assert str(caught.value.location) == "pyproject.toml:3"
