// Upload page: drag and drop, and one request per file with its own progress bar.
// Without JavaScript the form posts to /upload and the server renders the result.
"use strict";

const form = document.getElementById("upload-form");
const input = document.getElementById("file");
const zone = document.getElementById("dropzone");
const list = document.getElementById("upload-progress");
const ALLOWED = /^[A-Za-z0-9._\-/]+$/;

function keyFromName(name) {
  const base = name.split(/[\\/]/).pop().replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^[-.]+|[-.]+$/g, "");
  return base || "image";
}

function browseUrl(key) {
  return `/browse?key=${encodeURIComponent(key)}`;
}

function uploadOne(file, key) {
  const row = document.createElement("li");
  const name = document.createElement("span");
  name.textContent = `${file.name} → ${key}`;
  const bar = Object.assign(document.createElement("progress"), { max: 100, value: 0 });
  bar.setAttribute("aria-label", `Upload progress of ${file.name}`);
  const status = Object.assign(document.createElement("span"), { className: "status", textContent: "Waiting…" });
  row.append(name, bar, status);
  list.append(row);

  return new Promise((resolve) => {
    const body = new FormData();
    body.append("file", file);
    body.append("key", key);
    const request = new XMLHttpRequest();
    request.open("POST", "/api/images");
    request.setRequestHeader("X-CSRFToken", csrfToken());
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) {
        bar.value = Math.round((event.loaded / event.total) * 100);
        status.textContent = `Uploading… ${bar.value}%`;
      }
    });
    request.addEventListener("load", () => {
      let payload = {};
      try {
        payload = JSON.parse(request.responseText);
      } catch (_) {
        /* not JSON: fall through to the generic message */
      }
      if (request.status === 200 || request.status === 201) {
        bar.value = 100;
        status.className = "status ok";
        status.textContent = payload.replaced ? "Stored (replaced the previous image). " : "Stored. ";
        const link = Object.assign(document.createElement("a"), { href: browseUrl(key), textContent: "Browse it" });
        status.append(link);
      } else {
        status.className = "status error";
        status.textContent = (payload.error && payload.error.message) || `Upload failed (HTTP ${request.status}).`;
      }
      resolve(request.status < 300);
    });
    request.addEventListener("error", () => {
      status.className = "status error";
      status.textContent = "Network error: the upload did not reach the server.";
      resolve(false);
    });
    request.send(body);
  });
}

async function uploadAll(files) {
  const key = document.getElementById("key").value.trim();
  const prefix = document.getElementById("prefix").value.trim();
  if ((key && !ALLOWED.test(key)) || (prefix && !ALLOWED.test(prefix))) {
    form.reportValidity();
    return;
  }
  list.replaceChildren();
  const button = form.querySelector('button[type="submit"]');
  button.disabled = true;
  // Two at a time: fast on a LAN, gentle on the server.
  const queue = Array.from(files);
  const worker = async () => {
    while (queue.length) {
      const file = queue.shift();
      await uploadOne(file, files.length === 1 && key ? key : prefix + keyFromName(file.name));
    }
  };
  await Promise.all([worker(), worker()]);
  button.disabled = false;
}

form.addEventListener("submit", (event) => {
  if (!input.files.length) return; // let the browser say the field is required
  event.preventDefault();
  uploadAll(input.files);
});

for (const type of ["dragenter", "dragover"]) {
  zone.addEventListener(type, (event) => {
    event.preventDefault();
    zone.classList.add("over");
  });
}
for (const type of ["dragleave", "drop"]) {
  zone.addEventListener(type, () => zone.classList.remove("over"));
}
zone.addEventListener("drop", (event) => {
  event.preventDefault();
  if (event.dataTransfer.files.length) {
    input.files = event.dataTransfer.files;
    uploadAll(event.dataTransfer.files);
  }
});
