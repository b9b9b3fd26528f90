r"""The languages a manual can be written in, and every word solman itself prints into a PDF.

``[tool.solman] language`` picks one. For each language the table holds babel's name for it (so
hyphenation and LaTeX's own words, such as Contents, Chapter and Figure, follow), how numbers are
written (the decimal marker in math, and what separates the items of a list, which is a
semicolon where the comma marks decimals) and solman's own words: those of the engine's building
blocks (question labels, points, cross-references), of the shells (title page, front matter,
footers), of the verification appendix and of the style. The words are LaTeX, trusted as written.

The words reach the PDF three ways, all from this one table: the engine writes them into the
chapters it renders, the shells and the appendix template see them as ``words``, and the style
(``solman.sty``) reads them as ``\solmanword{key}`` from ``solman-language.sty``, which the build
writes next to it (``language_style``). In French, ``:`` and ``;`` are babel's active characters in
the document but not in the preamble, where that file is read: its words carry their own
non-breaking space (``~:``), which babel also accepts in the document.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

STYLE = "solman-language.sty"  # written into build/tex for every build (see language_style)


@dataclass(frozen=True)
class Language:
    code: str  # as in [tool.solman]: language = "fr"
    name: str  # in English, for messages: "French"
    babel: str  # babel's option: english, french, ngerman
    decimal: str  # the decimal marker in math; "{,}" is a comma after which TeX adds no space
    separator: str  # between the items of a list a value prints: "," or, where "," marks decimals, ";"
    setup: str  # LaTeX run after babel is loaded (babel's options for the language)
    words: Mapping[str, str] = field(repr=False, compare=False)
    singular_below_two: bool = False  # French: 0 point, 1,5 point, 2 points; English: 0 points, 1 point

    def singular(self, count: float) -> bool:
        """Whether ``count`` takes the singular: only 1 in English and German, anything below 2 in French."""
        return count < 2 if self.singular_below_two else count == 1

    def number(self, shown: str) -> str:
        """A number written with a full stop (as Python writes it) in this language's notation, for math."""
        return shown.replace(".", self.decimal) if self.decimal != "." else shown

    def text_number(self, shown: str) -> str:
        """The same for text mode, where the comma needs no braces: ``1.5`` as ``1,5`` in French."""
        return shown.replace(".", self.decimal.strip("{}")) if self.decimal != "." else shown


ENGLISH_WORDS = {
    "colon": ":",  # between a heading and its text (an erratum's title, a problem's bookmark)
    # the building blocks (solman/rendering/render.py)
    "problem": "Problem",  # the heading word before a problem's number
    "question": "question",  # in cross-references: see("ch", "2.1") is "question~2.1"
    "question_short": "Q",  # the label of a question called q10: Q10
    "chapter": "Chapter",  # cross-references across chapters, the appendix's sections
    "point": "point",
    "points": "points",
    "chapter_text": "Chapter text",  # the appendix entry of values printed outside questions
    # values (solman/values/filters.py): booleans, and the words sympy writes into a case distinction
    "true": "true",
    "false": "false",
    "cases_for": "for",
    "cases_otherwise": "otherwise",
    "sympy_true": "True",
    "sympy_false": "False",
    # the shells (manual.tex.j2, chapter.tex.j2)
    "solutions_edition": "Problems and solutions",  # the title page of each edition
    "problems_edition": "Problems",
    "problems_lower": "problems",  # the PDF title of the problems edition
    "chapter_lower": "chapter",  # a chapter PDF's title: "Manual: chapter 2"
    "about_book": "About this book.",
    "about_book_text": """\
Every value printed in this book (its computed numbers, matrices and expressions) was computed by
Python code, and every one is called by a test that passed when the book was built: solman built
the book from that code, and a build that would print a value no passing test calls, or whose
tests fail, fails. Formulas and reasoning typed in the text are not computed; the verification
appendix lists, for each question, the values it prints and the tests that check it, and says
what else \\texttt{invoke verify} checks.""",
    "about_edition": "About this edition.",
    "about_edition_text": """\
This edition states the problems only. The solutions, with every value computed and tested,
are in the solutions edition.""",
    "build_digest": "Build digest",
    "corrected": "Corrected from the source",  # \corrected{...}: a footnote on a corrected statement
    "draft": "DRAFT",  # across every page of a draft, and the line above its head
    "draft_line": "DRAFT: built with failing or missing checks; not for publication",
    # the verification appendix (appendix.tex.j2, verification-intro.tex, solman.sty)
    "verification": "Verification",
    "given": "given",
    "no_computed_values": "no computed values: the answer is reasoning",
    "no_test": "no test calls it",
    "checked_by": "checked by",
    "pinned": "pinned",
    "not_pinned": "not pinned",
    "failing": "failing",  # statuses of a question, shown when it is not verified
    "untested": "untested",
    "failed": "failed",  # outcomes of a test, shown when it did not pass
    "error": "error",
    "skipped": "skipped",
    "xfailed": "expected to fail",
    "sensitivity": "{pinned} of the {printed} values printed here are pinned",  # str.format: the counts
    "not_measured": "the sensitivity of the values printed here was not measured",
    "source_commit": "Source commit",
    "tools": "Tools",
    "verification_intro": """\
Every value printed in this book was computed by a Python function and is called by tests
that passed when the book was built. This appendix lists, for each question, the values its text
prints and the tests that call them, with their outcome when the book was built, and the tests
declared to check the question without calling a printed value (\\emph{checked by}: for example a
test that checks a formula the solution derives). Values marked \\emph{given} restate data of the
problem. The mark in the margin of a solution links here:
\\begin{itemize}\\setlength{\\itemsep}{0pt}
\\item[\\solmansymbol{verified}] every value the solution prints is called by a passing test;
\\item[\\solmansymbol{untested}] at least one is not, or one of its tests failed;
\\item[\\solmansymbol{reasoning}] the solution prints no computed value: its answer is reasoning,
  and no test checks it unless one is listed as checking it here.
\\end{itemize}
A value is \\emph{pinned} when at least one of its tests fails if the value is changed beyond the
precision it is printed with (a test that would pass for a wrong value does not pin it):
\\solmansensitivityfigure. Formulas and words typed in the text are not computed; a test checks
them only where it is listed as checking their question.

The command \\texttt{invoke verify} checks a copy of this book against its sources: that it was
built from today's sources unchanged, that the tests pass and call every printed value, that each
printed value reads back from its LaTeX as the value its tests checked, that no number is typed
into a solution instead of printed from a value, that every printed value is pinned, and that the
problems edition shows no solution's text or value.""",
    # the style (solman.sty): the solution box, errata, the points table
    "solution": "Solution",
    "erratum": "Erratum",
    "answer_right": "Correct.",  # LMS exports: the feedback of a right response
    "answer_wrong": "The answer is {answer}.",  # ... and of a wrong one (str.format: the answer)
    "points_heading": "Points",
    "total": "Total",
    # the HTML edition (solman/html)
    "contents": "Contents",
    "navigation": "Manual",
    "hide_solutions": "Hide the solutions",
    "show_solutions": "Show the solutions",
    "picture": "Picture",
}

FRENCH_WORDS = {
    "colon": "~:",
    "problem": "Problème",
    "question": "question",
    "question_short": "Q",
    "chapter": "Chapitre",
    "point": "point",
    "points": "points",
    "chapter_text": "Texte du chapitre",
    "true": "vrai",
    "false": "faux",
    "cases_for": "pour",
    "cases_otherwise": "sinon",
    "sympy_true": "Vrai",
    "sympy_false": "Faux",
    "solutions_edition": "Problèmes et solutions",
    "problems_edition": "Problèmes",
    "problems_lower": "problèmes",
    "chapter_lower": "chapitre",
    "about_book": "À propos de ce livre.",
    "about_book_text": """\
Chaque valeur imprimée dans ce livre (ses nombres, matrices et expressions calculés) a été
calculée par du code Python, et chacune est appelée par un test qui a réussi lors de la
compilation du livre~: solman a compilé le livre à partir de ce code, et une compilation qui
imprimerait une valeur qu'aucun test réussi n'appelle, ou dont les tests échouent, échoue. Les
formules et les raisonnements écrits dans le texte ne sont pas calculés~; l'annexe de vérification
donne, pour chaque question, les valeurs qu'elle imprime et les tests qui la vérifient, et dit ce
que \\texttt{invoke verify} vérifie en outre.""",
    "about_edition": "À propos de cette édition.",
    "about_edition_text": """\
Cette édition ne donne que les énoncés. Les solutions, où chaque valeur est calculée et testée,
sont dans l'édition avec solutions.""",
    "corrected": "Corrigé par rapport à la source",
    "build_digest": "Empreinte",  # of the build; longer words push the digest out of the line
    "draft": "BROUILLON",
    "draft_line": "BROUILLON~: compilé avec des vérifications en échec ou manquantes~; à ne pas publier",
    "verification": "Vérification",
    "given": "donnée",
    "no_computed_values": "aucune valeur calculée~: la réponse est un raisonnement",
    "no_test": "aucun test ne l'appelle",
    "checked_by": "vérifiée par",
    "pinned": "verrouillée",
    "not_pinned": "non verrouillée",
    "failing": "en échec",
    "untested": "non testée",
    "failed": "échoué",
    "error": "erreur",
    "skipped": "ignoré",
    "xfailed": "échec attendu",
    "sensitivity": "{pinned} des {printed} valeurs imprimées ici sont verrouillées",
    "not_measured": "la sensibilité des valeurs imprimées ici n'a pas été mesurée",
    "source_commit": "Commit des sources",
    "tools": "Outils",
    "verification_intro": """\
Chaque valeur imprimée dans ce livre a été calculée par une fonction Python et est appelée par
des tests qui ont réussi lors de la compilation du livre. Cette annexe donne, pour chaque
question, les valeurs que son texte imprime et les tests qui les appellent, avec leur résultat
lors de la compilation, ainsi que les tests déclarés pour vérifier la question sans appeler de
valeur imprimée (\\emph{vérifiée par}~: par exemple un test qui vérifie une formule que la solution
établit). Les valeurs marquées \\emph{donnée} reprennent des données de l'énoncé. La marque dans
la marge d'une solution renvoie ici~:
\\begin{itemize}\\setlength{\\itemsep}{0pt}
\\item[\\solmansymbol{verified}] chaque valeur que la solution imprime est appelée par un test réussi~;
\\item[\\solmansymbol{untested}] au moins une ne l'est pas, ou l'un de ses tests a échoué~;
\\item[\\solmansymbol{reasoning}] la solution n'imprime aucune valeur calculée~: sa réponse est un
  raisonnement, qu'aucun test ne vérifie sauf si l'un est indiqué ici comme la vérifiant.
\\end{itemize}
Une valeur est \\emph{verrouillée} quand au moins un de ses tests échoue si l'on change la valeur
au-delà de la précision avec laquelle elle est imprimée (un test qui réussirait avec une valeur
fausse ne la verrouille pas)~: \\solmansensitivityfigure. Les formules et les mots écrits dans le
texte ne sont pas calculés~; un test ne les vérifie que s'il est indiqué comme vérifiant leur
question.

La commande \\texttt{invoke verify} vérifie un exemplaire de ce livre par rapport à ses
sources~: qu'il a été compilé à partir des sources d'aujourd'hui inchangées, que les tests
réussissent et appellent chaque valeur imprimée, que chaque valeur imprimée se relit dans son
LaTeX comme la valeur que ses tests ont vérifiée, qu'aucun nombre n'est tapé dans une solution au
lieu d'être imprimé depuis une valeur, que chaque valeur imprimée est verrouillée, et que
l'édition des énoncés ne montre ni le texte ni les valeurs d'aucune solution.""",
    "solution": "Solution",
    "erratum": "Erratum",
    "answer_right": "Correct.",
    "answer_wrong": "La réponse est {answer}.",
    "points_heading": "Points",
    "total": "Total",
    "contents": "Table des matières",
    "navigation": "Manuel",
    "hide_solutions": "Masquer les solutions",
    "show_solutions": "Afficher les solutions",
    "picture": "Figure",
}

GERMAN_WORDS = {
    "colon": ":",
    "problem": "Aufgabe",
    "question": "Frage",
    "question_short": "F",
    "chapter": "Kapitel",
    "point": "Punkt",
    "points": "Punkte",
    "chapter_text": "Kapiteltext",
    "true": "wahr",
    "false": "falsch",
    "cases_for": "für",
    "cases_otherwise": "sonst",
    "sympy_true": "Wahr",
    "sympy_false": "Falsch",
    "solutions_edition": "Aufgaben und Lösungen",
    "problems_edition": "Aufgaben",
    "problems_lower": "Aufgaben",
    "chapter_lower": "Kapitel",
    "about_book": "Über dieses Buch.",
    "about_book_text": """\
Jeder in diesem Buch gedruckte Wert (seine berechneten Zahlen, Matrizen und Ausdrücke) wurde von
Python-Code berechnet, und jeder wird von einem Test aufgerufen, der bestand, als das Buch erstellt
wurde: solman hat das Buch aus diesem Code erstellt, und ein Build, der einen Wert drucken würde,
den kein bestandener Test aufruft, oder dessen Tests fehlschlagen, schlägt fehl. Formeln und
Begründungen, die im Text geschrieben stehen, sind nicht berechnet; der Verifikationsanhang nennt
für jede Frage die Werte, die sie druckt, und die Tests, die sie prüfen, und sagt, was
\\texttt{invoke verify} außerdem prüft.""",
    "about_edition": "Über diese Ausgabe.",
    "about_edition_text": """\
Diese Ausgabe enthält nur die Aufgaben. Die Lösungen, mit jedem Wert berechnet und getestet,
stehen in der Ausgabe mit Lösungen.""",
    "corrected": "Gegenüber der Quelle berichtigt",
    "build_digest": "Prüfsumme",
    "draft": "ENTWURF",
    "draft_line": "ENTWURF: mit fehlschlagenden oder fehlenden Prüfungen erstellt; nicht zur Veröffentlichung",
    "verification": "Verifikation",
    "given": "gegeben",
    "no_computed_values": "keine berechneten Werte: die Antwort ist eine Begründung",
    "no_test": "kein Test ruft ihn auf",
    "checked_by": "geprüft durch",
    "pinned": "abgesichert",
    "not_pinned": "nicht abgesichert",
    "failing": "fehlschlagend",
    "untested": "ungetestet",
    "failed": "fehlgeschlagen",
    "error": "Fehler",
    "skipped": "übersprungen",
    "xfailed": "erwartet fehlschlagend",
    "sensitivity": "{pinned} der {printed} hier gedruckten Werte sind abgesichert",
    "not_measured": "die Empfindlichkeit der hier gedruckten Werte wurde nicht gemessen",
    "source_commit": "Quell-Commit",
    "tools": "Werkzeuge",
    "verification_intro": """\
Jeder in diesem Buch gedruckte Wert wurde von einer Python-Funktion berechnet und wird von Tests
aufgerufen, die bestanden, als das Buch erstellt wurde. Dieser Anhang nennt für jede Frage die
Werte, die ihr Text druckt, und die Tests, die sie aufrufen, mit ihrem Ergebnis beim Erstellen des
Buches, sowie die Tests, die erklärtermaßen die Frage prüfen, ohne einen gedruckten Wert aufzurufen
(\\emph{geprüft durch}: zum Beispiel ein Test, der eine Formel prüft, die die Lösung herleitet).
Als \\emph{gegeben} markierte Werte geben Daten der Aufgabe wieder. Die Marke am Rand einer Lösung
verweist hierher:
\\begin{itemize}\\setlength{\\itemsep}{0pt}
\\item[\\solmansymbol{verified}] jeder Wert, den die Lösung druckt, wird von einem bestandenen Test aufgerufen;
\\item[\\solmansymbol{untested}] mindestens einer nicht, oder einer seiner Tests schlug fehl;
\\item[\\solmansymbol{reasoning}] die Lösung druckt keinen berechneten Wert: ihre Antwort ist eine
  Begründung, und kein Test prüft sie, außer einer ist hier als sie prüfend aufgeführt.
\\end{itemize}
Ein Wert ist \\emph{abgesichert}, wenn mindestens einer seiner Tests fehlschlägt, sobald der Wert
über die Genauigkeit hinaus geändert wird, mit der er gedruckt ist (ein Test, der auch für einen
falschen Wert bestünde, sichert ihn nicht ab): \\solmansensitivityfigure. Formeln und Wörter, die
im Text geschrieben stehen, sind nicht berechnet; ein Test prüft sie nur, wo er als Prüfung ihrer
Frage aufgeführt ist.

Der Befehl \\texttt{invoke verify} prüft ein Exemplar dieses Buches gegen seine Quellen: dass es
aus den heutigen Quellen unverändert erstellt wurde, dass die Tests bestehen und jeden gedruckten
Wert aufrufen, dass sich jeder gedruckte Wert aus seinem LaTeX als der Wert zurücklesen lässt, den
seine Tests geprüft haben, dass keine Zahl in eine Lösung getippt statt aus einem Wert gedruckt
ist, dass jeder gedruckte Wert abgesichert ist, und dass die Aufgabenausgabe weder Text noch
Werte einer Lösung zeigt.""",
    "solution": "Lösung",
    "erratum": "Erratum",
    "answer_right": "Richtig.",
    "answer_wrong": "Die Antwort ist {answer}.",
    "points_heading": "Punkte",
    "total": "Summe",
    "contents": "Inhalt",
    "navigation": "Handbuch",
    "hide_solutions": "Lösungen ausblenden",
    "show_solutions": "Lösungen einblenden",
    "picture": "Abbildung",
}

# French babel keeps LaTeX's own layout of lists and footnotes (solman's design is the same in every
# language) but spaces ; : ! ? the French way; pgfplots writes its tick labels with a decimal comma.
COMMA_TICKS = r"\AtBeginDocument{\pgfkeys{/pgf/number format/use comma}}"

LANGUAGES: Mapping[str, Language] = MappingProxyType({
    "en": Language("en", "English", "english", ".", ",", "", MappingProxyType(ENGLISH_WORDS)),
    "fr": Language("fr", "French", "french", "{,}", ";", r"\frenchsetup{StandardLayout=true}" + "\n" + COMMA_TICKS,
                   MappingProxyType(FRENCH_WORDS), singular_below_two=True),
    "de": Language("de", "German", "ngerman", "{,}", ";", COMMA_TICKS, MappingProxyType(GERMAN_WORDS)),
})
ENGLISH = LANGUAGES["en"]


def language(code: str) -> Language:
    """The language called ``code`` (one of LANGUAGES; the project's setting is checked when it is read)."""
    try:
        return LANGUAGES[code]
    except KeyError:
        raise ValueError(f"unknown language {code!r}: solman knows {', '.join(LANGUAGES)}") from None


def language_style(code: str) -> bytes:
    r"""``solman-language.sty`` for the language ``code``: babel with its options, and every word as
    ``\solmansetword{key}{word}`` (``solman.sty`` defines that macro, then loads this file)."""
    chosen = language(code)
    lines = [
        f"% {STYLE}: written by solman for language = \"{code}\" ({chosen.name}) from its table of words,",
        "% solman/project/language.py. A templates/ file of this name replaces it.",
        r"\NeedsTeXFormat{LaTeX2e}",
        rf"\ProvidesPackage{{solman-language}}[2026/11/21 v0.1 solman's words in {chosen.name}]",
        rf"\RequirePackage[{chosen.babel}]{{babel}}",
        *([chosen.setup] if chosen.setup else []),
    ]
    for key, word in chosen.words.items():
        if key == "sensitivity":  # its counts are summed by solman.sty (\solmansensitivity)
            word = word.format(pinned=r"\the\solman@pinnedcount{}", printed=r"\the\solman@printedcount{}")
        lines.append(rf"\solmansetword{{{key}}}{{{word}}}")
    lines.append(r"\endinput")
    return ("\n".join(lines) + "\n").encode("utf-8")
