// Bars sized from the data (data-width-pct, data-left-pct): set through the CSSOM, which the
// Content-Security-Policy allows where it refuses inline style attributes.
(() => {
  function size(root) {
    const scope = root.querySelectorAll ? root : document;
    scope.querySelectorAll("[data-width-pct]").forEach((el) => {
      el.style.width = `${el.dataset.widthPct}%`;
    });
    scope.querySelectorAll("[data-left-pct]").forEach((el) => {
      el.style.left = `${el.dataset.leftPct}%`;
    });
  }
  document.addEventListener("DOMContentLoaded", () => size(document));
  document.addEventListener("htmx:load", (event) => size(event.target));
})();
