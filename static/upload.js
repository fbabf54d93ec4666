// Upload page: drag and drop, and one request per file with its own progress bar.
// Without JavaScript the form posts to /upload and the server renders the result.
//
// Two ways to send a file:
// - through the app: POST /api/images (the default);
// - straight to S3 when the form has data-direct="s3" (no API Gateway/Lambda body limit):
//     1. POST /api/uploads             -> a presigned form for a staging object
//     2. POST the file to S3           -> with the progress bar
//     3. POST /api/uploads/<id>/commit -> the server decodes and checks it, then stores or rejects it
"use strict";

const form = document.getElementById("upload-form");
const input = document.getElementById("file");
const zone = document.getElementById("dropzone");
const list = document.getElementById("upload-progress");

function keyFromName(name) {
  const base = name.split(/[\\/]/).pop().replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^[-.]+|[-.]+$/g, "");
  return base || "image";
}

function errorMessage(payload, status) {
  return (payload && payload.error && payload.error.message) || `The server answered HTTP ${status}.`;
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch (_) {
    return {};
  }
}

// POST a multipart body with upload progress; resolves with the response, rejects on network errors.
function postWithProgress(url, body, headers, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", url);
    for (const [name, value] of Object.entries(headers)) request.setRequestHeader(name, value);
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    request.addEventListener("load", () => resolve(request));
    request.addEventListener("error", () => reject(new Error("Network error: the file did not reach the server.")));
    request.send(body);
  });
}

async function postJson(url, body) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
    credentials: "same-origin",
    body: JSON.stringify(body),
  });
  const payload = parseJson(await response.text());
  if (!response.ok) throw new Error(errorMessage(payload, response.status));
  return payload;
}

async function sendThroughApp(file, key, onProgress) {
  const body = new FormData();
  body.append("file", file);
  body.append("key", key);
  const response = await postWithProgress("/api/images", body, { "X-CSRFToken": csrfToken() }, onProgress);
  const payload = parseJson(response.responseText);
  if (response.status !== 200 && response.status !== 201) throw new Error(errorMessage(payload, response.status));
  return payload;
}

async function sendToS3(file, key, onProgress, onStage) {
  const grant = await postJson("/api/uploads", { key, content_type: file.type, bytes: file.size });
  const body = new FormData();
  for (const [name, value] of Object.entries(grant.fields)) body.append(name, value);
  body.append("file", file); // S3 requires the file to be the last field
  const response = await postWithProgress(grant.url, body, {}, onProgress);
  if (response.status < 200 || response.status >= 300) {
    const message = /<Message>([^<]*)<\/Message>/.exec(response.responseText || "");
    throw new Error(`Storage refused the file: ${message ? message[1] : `HTTP ${response.status}`}.`);
  }
  onStage("Checking the image…");
  return postJson(grant.commit_url, { key });
}

const send = form.dataset.direct === "s3" ? sendToS3 : sendThroughApp;

async function uploadOne(file, key) {
  const row = document.createElement("li");
  const name = Object.assign(document.createElement("span"), { textContent: `${file.name} → ${key}` });
  const bar = Object.assign(document.createElement("progress"), { max: 100, value: 0 });
  bar.setAttribute("aria-label", `Upload progress of ${file.name}`);
  const status = Object.assign(document.createElement("span"), { className: "status", textContent: "Waiting…" });
  row.append(name, bar, status);
  list.append(row);
  const onProgress = (ratio) => {
    bar.value = Math.round(ratio * 100);
    status.textContent = `Uploading… ${bar.value}%`;
  };
  try {
    const record = await send(file, key, onProgress, (text) => (status.textContent = text));
    bar.value = 100;
    status.className = "status ok";
    status.textContent = record.replaced ? "Stored (replaced the previous image). " : "Stored. ";
    const link = Object.assign(document.createElement("a"), {
      href: `/browse?key=${encodeURIComponent(key)}`,
      textContent: "Browse it",
    });
    status.append(link);
    return true;
  } catch (error) {
    status.className = "status error";
    status.textContent = error.message;
    return false;
  }
}

async function uploadAll(files) {
  const keyInput = document.getElementById("key");
  const prefixInput = document.getElementById("prefix");
  // Dropped files skip the browser's own check of the fields' pattern (the key grammar).
  if (!keyInput.checkValidity() || !prefixInput.checkValidity()) {
    form.reportValidity();
    return;
  }
  const key = keyInput.value.trim();
  const prefix = prefixInput.value.trim();
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
