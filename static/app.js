// Progressive enhancement shared by every page; everything works without it.
"use strict";

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

// Forms with data-confirm ask before submitting (e.g. delete buttons in the gallery).
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
  }
});

// Key autocompletion: fill the datalist with existing keys that start with what is typed.
for (const input of document.querySelectorAll("input[data-suggest]")) {
  const list = document.getElementById(input.getAttribute("list"));
  let timer = null;
  let latest = 0;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const ticket = ++latest;
      const url = `${input.dataset.suggest}?prefix=${encodeURIComponent(input.value)}`; // the server's default count
      try {
        const response = await fetch(url, { headers: { Accept: "application/json" } });
        if (!response.ok || ticket !== latest) return;
        const { keys } = await response.json();
        list.replaceChildren(...keys.map((key) => Object.assign(document.createElement("option"), { value: key })));
      } catch (_) {
        /* suggestions are a nicety: ignore network errors */
      }
    }, 150);
  });
}

// Fields with data-invalid explain their rules in the page's words instead of the browser's
// "Please match the requested format" (the rules are also written under the field).
for (const input of document.querySelectorAll("input[data-invalid]")) {
  input.addEventListener("invalid", () => {
    if (input.validity.patternMismatch || input.validity.tooLong) input.setCustomValidity(input.dataset.invalid);
  });
  input.addEventListener("input", () => input.setCustomValidity(""));
}
