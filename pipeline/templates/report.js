// Filters of the review page. Reads only data-* attributes and form controls; never puts
// account text into HTML (textContent and attributes only), so nothing here can run it.
(function () {
  "use strict";
  var form = document.getElementById("filters");
  var items = Array.prototype.slice.call(document.querySelectorAll("#account-list > li"));
  var shown = document.getElementById("shown");

  function checkedVerdicts() {
    var boxes = form.querySelectorAll("input[name=verdict]");
    var out = {};
    for (var i = 0; i < boxes.length; i++) {
      if (boxes[i].checked) { out[boxes[i].value] = true; }
    }
    return out;
  }

  function apply() {
    var verdicts = checkedVerdicts();
    var criterion = document.getElementById("criterion-filter").value;
    var overridesOnly = document.getElementById("overrides-only").checked;
    var hideDecided = document.getElementById("hide-decided").checked;
    var query = document.getElementById("search").value.trim().toLowerCase();
    var n = 0;
    for (var i = 0; i < items.length; i++) {
      var d = items[i].dataset;
      var against = d.against ? d.against.split(" ") : [];
      var visible = verdicts[d.verdict] === true
        && (!criterion || against.indexOf(criterion) >= 0)
        && (!overridesOnly || d.override !== "")
        && (!hideDecided || d.decided === "")
        && (!query || d.search.indexOf(query) >= 0);
      items[i].hidden = !visible;
      if (visible) { n++; }
    }
    shown.textContent = String(n);
  }

  form.addEventListener("submit", function (event) { event.preventDefault(); });
  form.addEventListener("change", apply);
  form.addEventListener("input", apply);
  apply();
})();
