// Import page: highlight the drop zone while dragging, show upload progress.
(function () {
  const form = document.getElementById("import-form");
  if (!form || form.dataset.ready) return;
  form.dataset.ready = "1";
  const zone = form.querySelector(".dropzone");
  const input = form.querySelector("input[type=file]");
  const bar = document.getElementById("upload-progress");
  ["dragenter", "dragover"].forEach((type) =>
    zone.addEventListener(type, (event) => { event.preventDefault(); zone.classList.add("over"); }));
  ["dragleave", "drop"].forEach((type) =>
    zone.addEventListener(type, () => zone.classList.remove("over")));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    input.files = event.dataTransfer.files;
  });
  form.addEventListener("submit", (event) => {
    if (!window.XMLHttpRequest || !input.files.length) return;
    event.preventDefault();
    const request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) { bar.hidden = false; bar.value = (100 * e.loaded) / e.total; }
    });
    request.addEventListener("load", () => {
      if (request.responseURL && request.status < 400) { window.location.assign(request.responseURL); }
      else { document.open(); document.write(request.responseText); document.close(); }
    });
    request.send(new FormData(form));
  });
})();
