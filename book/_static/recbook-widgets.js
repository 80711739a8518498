// Glue between the vendored widget manager and the rest of the page (see vendor/README.md).
// Loaded after vendor/requirejs/require.js and before vendor/html-manager/embed-amd.js on pages that
// carry widget state (myst-nb's nb_ipywidgets_js in _config.yml).
(function () {
  "use strict";
  // 1. The bundles inside embed-amd.js find their fonts relative to their AMD module URLs, which
  //    require.js would resolve relative to the page (book/@jupyter-widgets/...). Map every module to
  //    the vendored folder so the Font Awesome fonts load from there.
  var vendor = new URL("vendor/html-manager/", document.currentScript.src).href;
  var paths = {};
  ["html-manager", "base", "base7", "controls", "controls7", "output"].forEach(function (name) {
    paths["@jupyter-widgets/" + name] = vendor + name;
  });
  paths["@jupyter-widgets/html-manager/dist"] = vendor.replace(/\/$/, "");
  window.require.config({ paths: paths });

  // 2. ipywidgets typesets labels with MathJax 2's API (MathJax.Hub.Queue); the book loads MathJax 3.
  document.addEventListener("DOMContentLoaded", function () {
    var mathjax = window.MathJax;
    if (!mathjax || mathjax.Hub) return;
    mathjax.Hub = {
      Queue: function (command) {
        var element = command && command[2];
        mathjax.startup.promise
          .then(function () { return mathjax.typesetPromise(element ? [element] : undefined); })
          .catch(function (error) { console.warn("MathJax could not typeset a widget:", error); });
      },
    };
  });
})();
