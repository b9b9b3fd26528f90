// solman's HTML edition: the button that closes or opens every solution at once.
(function () {
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
