// solman's HTML edition: the button that closes or opens every solution at once; and a formula wider than
// the page scrolls sideways, so it takes the keyboard's focus (arrow keys scroll it).
(function () {
  document.querySelectorAll('math[display="block"], .ltx_equation, .ltx_equationgroup').forEach(function (m) {
    if (m.scrollWidth > m.clientWidth + 1) { m.tabIndex = 0; }
  });
  var button = document.getElementById("solman-toggle");
  if (!button) { return; }
  button.addEventListener("click", function () {
    var solutions = document.querySelectorAll("details.solman-solution");
    var open = Array.prototype.some.call(solutions, function (d) { return d.open; });
    solutions.forEach(function (d) { d.open = !open; });
    button.textContent = open ? button.dataset.show : button.dataset.hide;
    button.setAttribute("aria-pressed", open ? "true" : "false");
  });
})();
