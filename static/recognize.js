// Image Recognition tab: live slider value, one source at a time, and hiding results below the
// slider without asking the server again. The page works without this file.
"use strict";

(() => {
  const slider = document.getElementById("recog-min");
  const shown = document.getElementById("recog-min-value");
  const file = document.getElementById("recog-file");
  const key = document.getElementById("recog-key");
  if (!slider) return;

  const applyMinimum = () => {
    const minimum = Number(slider.value);
    shown.value = slider.value;
    for (const item of document.querySelectorAll(".recog-boxes .box, .recog-labels tr[data-confidence]")) {
      item.classList.toggle("hidden", Number(item.dataset.confidence) < minimum);
    }
  };
  slider.addEventListener("input", applyMinimum);

  // A chosen file wins over a typed key, and the other way round, as the server accepts only one.
  file.addEventListener("change", () => {
    if (file.files.length) key.value = "";
  });
  key.addEventListener("input", () => {
    if (key.value) file.value = "";
  });

  // Show that work is under way: detection can take a moment on the first request.
  const form = slider.form;
  const button = form.querySelector('button[type="submit"]');
  const label = button.textContent;
  form.addEventListener("submit", async (event) => {
    button.disabled = true;
    button.textContent = "Detecting…";
    const chosen = file.files[0];
    if (!chosen || !needsStaging(form, chosen)) return;
    // Too large for one request: send it to storage first, then submit its id instead of the file.
    event.preventDefault();
    button.textContent = "Sending the photo…";
    try {
      const staged = Object.assign(document.createElement("input"), { type: "hidden", name: "staged_id" });
      staged.value = await stageFile(form, chosen);
      form.append(staged);
      file.value = "";
      button.textContent = "Detecting…";
      form.submit();
    } catch (error) {
      button.disabled = false;
      button.textContent = label;
      window.alert(error.message);
    }
  });
  // Coming back with the browser's Back button must not leave the form disabled.
  window.addEventListener("pageshow", () => {
    for (const staged of form.querySelectorAll('input[name="staged_id"]')) staged.remove();
    button.disabled = false;
    button.textContent = label;
    applyMinimum();
  });
})();
