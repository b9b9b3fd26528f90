"""The HTML edition: the generated LaTeX converted by LaTeXML to web pages with MathML (``invoke html``)."""
