// Upload page when images are stored in S3: each file goes straight from the browser to S3
// (no size cap from API Gateway/Lambda in between), in three steps per file:
//   1. POST /api/uploads            -> a presigned form for a staging object
//   2. POST the file to S3          -> with a progress bar
//   3. POST /api/uploads/<id>/commit -> the server decodes and checks it, then stores or rejects it
// Without JavaScript the form still posts to /upload (subject to the front door's body limit).
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

async function postJson(url, body) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
    credentials: "same-origin",
    body: JSON.stringify(body),
  });
  let payload = {};
  try {
    payload = await response.json();
  } catch (_) {
    /* not JSON: the generic message below applies */
  }
  if (!response.ok) {
    throw new Error((payload.error && payload.error.message) || `The server answered HTTP ${response.status}.`);
  }
  return payload;
}

function sendToS3(grant, file, onProgress) {
  return new Promise((resolve, reject) => {
    const body = new FormData();
    for (const [name, value] of Object.entries(grant.fields)) body.append(name, value);
    body.append("file", file); // S3 requires the file to be the last field
    const request = new XMLHttpRequest();
    request.open("POST", grant.url);
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    request.addEventListener("load", () => {
      if (request.status >= 200 && request.status < 300) return resolve();
      const message = /<Message>([^<]*)<\/Message>/.exec(request.responseText || "");
      reject(new Error(`Storage refused the file: ${message ? message[1] : `HTTP ${request.status}`}.`));
    });
    request.addEventListener("error", () => reject(new Error("Network error: the file did not reach storage.")));
    request.send(body);
  });
}

async function uploadOne(file, key) {
  const row = document.createElement("li");
  const name = Object.assign(document.createElement("span"), { textContent: `${file.name} → ${key}` });
  const bar = Object.assign(document.createElement("progress"), { max: 100, value: 0 });
  bar.setAttribute("aria-label", `Upload progress of ${file.name}`);
  const status = Object.assign(document.createElement("span"), { className: "status", textContent: "Preparing…" });
  row.append(name, bar, status);
  list.append(row);
  try {
    const grant = await postJson("/api/uploads", { key, content_type: file.type, bytes: file.size });
    await sendToS3(grant, file, (ratio) => {
      bar.value = Math.round(ratio * 100);
      status.textContent = `Uploading… ${bar.value}%`;
    });
    status.textContent = "Checking the image…";
    const record = await postJson(grant.commit_url, { key });
    bar.value = 100;
    status.className = "status ok";
    status.textContent = record.replaced ? "Stored (replaced the previous image). " : "Stored. ";
    status.append(Object.assign(document.createElement("a"), { href: `/browse?key=${encodeURIComponent(key)}`, textContent: "Browse it" }));
    return true;
  } catch (error) {
    status.className = "status error";
    status.textContent = error.message;
    return false;
  }
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
  if (!input.files.length) return;
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
