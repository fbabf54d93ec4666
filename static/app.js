// Progressive enhancement shared by every page; everything works without it.
"use strict";

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

// An action's outcome (a result, a saved notice, an error) is brought into view and focused, so a
// phone user sees it and a screen reader reads it, wherever it is on the page. The element
// carries role="status" or role="alert" (announced when it changes); focus also reads a server
// rendered one, which no live region announces on page load.
function bringIntoView(element) {
  if (!element || element.hidden) return;
  const box = element.getBoundingClientRect();
  if (box.top < 0 || box.top > window.innerHeight * 0.5) {
    const still = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    element.scrollIntoView({ block: "start", behavior: still ? "auto" : "smooth" });
  }
  if (!element.hasAttribute("tabindex")) element.setAttribute("tabindex", "-1");
  element.focus({ preventScroll: true });
}

// A page rendered as an action's answer marks its outcome with data-outcome.
window.addEventListener("DOMContentLoaded", () => bringIntoView(document.querySelector("[data-outcome]:not([hidden])")));

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

// Files larger than one request may carry through API Gateway and Lambda go to storage first: the
// form says when (data-stage-over, in bytes) and where to ask (data-uploads-url, POST /api/uploads
// without a key); the page then names the file by the returned id (staged_id).
function needsStaging(form, file) {
  return Boolean(form.dataset.uploadsUrl) && file.size > Number(form.dataset.stageOver);
}

async function stageFile(form, file) {
  const response = await fetch(form.dataset.uploadsUrl, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
    credentials: "same-origin",
    body: JSON.stringify({ content_type: file.type, bytes: file.size }),
  });
  const grant = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(grant.error?.message || `The server answered ${response.status}.`);
  const body = new FormData();
  for (const [name, value] of Object.entries(grant.fields)) body.append(name, value);
  body.append("file", file); // S3 requires the file to be the last field
  const sent = await fetch(grant.url, { method: "POST", body });
  if (!sent.ok) throw new Error(`Storage refused the file (HTTP ${sent.status}).`);
  return grant.upload_id;
}

// Fields with data-invalid explain their rules in the page's words instead of the browser's
// "Please match the requested format" (the rules are also written under the field).
for (const input of document.querySelectorAll("input[data-invalid]")) {
  input.addEventListener("invalid", () => {
    if (input.validity.patternMismatch || input.validity.tooLong) input.setCustomValidity(input.dataset.invalid);
  });
  input.addEventListener("input", () => input.setCustomValidity(""));
}

// Dominant-colour placeholders: a tile shows its photo's colour until the image arrives.
for (const image of document.querySelectorAll("img[data-color]")) {
  if (/^#[0-9a-f]{6}$/i.test(image.dataset.color)) image.style.backgroundColor = image.dataset.color;
}

// The light/dark toggle in the header (theme.js applies the choice before the page is drawn).
const themeToggle = document.getElementById("theme-toggle");
if (themeToggle) {
  themeToggle.hidden = false;
  themeToggle.addEventListener("click", () => {
    const root = document.documentElement;
    const dark = !(root.classList.contains("dark") || (!root.classList.contains("light") && matchMedia("(prefers-color-scheme: dark)").matches));
    root.classList.toggle("dark", dark);
    root.classList.toggle("light", !dark);
    try {
      localStorage.setItem("theme", dark ? "dark" : "light");
    } catch (_) {
      /* private mode: the choice lasts for this page */
    }
  });
}
