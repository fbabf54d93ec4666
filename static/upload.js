// Upload page: drag and drop, and one request per file with its own progress bar.
// Without JavaScript the form posts to /upload and the server renders the result.
// Every URL comes from the page (data-* attributes), so the app works under a path prefix.
//
// Nothing is replaced without an answer: a file whose key exists asks Replace / Keep both / Skip
// (unless the form's choice or an "apply to all" answer says), and is sent with on_conflict=fail
// otherwise, so a key taken meanwhile asks too instead of being overwritten.
//
// Two ways to send a file:
// - through the app: POST /api/images (the default);
// - straight to S3 when the form has data-direct="s3" (no API Gateway/Lambda body limit):
//     1. POST /api/uploads             -> a presigned form for a staging object
//     2. POST the file to S3           -> with the progress bar
//     3. POST /api/uploads/<id>/commit -> the server decodes and checks it, then stores or rejects it
//
// Each batch carries one random batch id, so the summary can link to the gallery showing just it.
//
// Folders (dropped, or chosen with the folder picker) keep their relative paths as keys. Bytes the
// gallery already holds are not stored again (on_duplicate=skip, the form's default): the row says
// "already in the gallery as <key>" and offers Keep both, per file or for all.
"use strict";

const form = document.getElementById("upload-form");
const input = document.getElementById("file");
const zone = document.getElementById("dropzone");
const list = document.getElementById("upload-progress");
const urls = form.dataset;

function newBatch() {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(""); // 16 hex digits
}

function keyFromName(name) {
  const base = name.split(/[\\/]/).pop().replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^[-.]+|[-.]+$/g, "");
  return base || "image";
}

// A short stable hash, naming a part with nothing readable left (写真.jpg), so names stay distinct.
function shortHash(text) {
  let hash = 0x811c9dc5;
  for (const c of text) hash = Math.imul(hash ^ c.codePointAt(0), 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, "0");
}

// A key from a relative path, folders kept, as the server's keys.key_from_path makes it:
// "Trip 2019/Café.jpg" -> "Trip-2019/Cafe.jpg".
function keyFromPath(path) {
  const readable = (text) =>
    text
      .normalize("NFKD")
      .replace(/[\u0300-\u036f]/g, "")
      .replace(/[^A-Za-z0-9._-]+/g, "-")
      .replace(/^[-.]+|[-.]+$/g, "");
  const parts = path
    .split(/[\\/]+/)
    .filter(Boolean)
    .map((part) => {
      const dot = part.lastIndexOf(".");
      const [stem, ext] = dot > 0 ? [part.slice(0, dot), part.slice(dot + 1)] : [part, ""];
      const name = readable(stem) || shortHash(stem);
      return readable(ext) ? `${name}.${readable(ext)}` : name;
    });
  return parts.join("/") || "image";
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

class Conflict extends Error {}

async function sendThroughApp(file, key, onConflict, batch, onProgress, onStage, onDuplicate) {
  const body = new FormData();
  body.append("file", file);
  body.append("key", key);
  body.append("on_conflict", onConflict);
  body.append("on_duplicate", onDuplicate);
  body.append("batch", batch);
  const response = await postWithProgress(urls.imagesUrl, body, { "X-CSRFToken": csrfToken() }, onProgress);
  const payload = parseJson(response.responseText);
  if (response.status === 409) throw new Conflict(errorMessage(payload, response.status));
  if (response.status !== 200 && response.status !== 201) throw new Error(errorMessage(payload, response.status));
  return payload;
}

async function sendToS3(file, key, onConflict, batch, onProgress, onStage) {
  const grant = await postJson(urls.uploadsUrl, { key, content_type: file.type, bytes: file.size });
  const body = new FormData();
  for (const [name, value] of Object.entries(grant.fields)) body.append(name, value);
  body.append("file", file); // S3 requires the file to be the last field
  const response = await postWithProgress(grant.url, body, {}, onProgress);
  if (response.status < 200 || response.status >= 300) {
    const message = /<Message>([^<]*)<\/Message>/.exec(response.responseText || "");
    throw new Error(`Storage refused the file: ${message ? message[1] : `HTTP ${response.status}`}.`);
  }
  onStage("Checking the image…");
  try {
    return await postJson(grant.commit_url, { key, on_conflict: onConflict, batch });
  } catch (error) {
    if (/already an image/.test(error.message)) throw new Conflict(error.message);
    throw error;
  }
}

// A key is the first of the keys it is a prefix of, so one suggestion tells whether it exists.
async function keyExists(key) {
  const url = `${urls.keysUrl}?prefix=${encodeURIComponent(key)}&limit=1`;
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  if (!response.ok) return false; // the upload itself still refuses to replace (on_conflict=fail)
  const { keys } = await response.json();
  return keys[0] === key;
}

// One question at a time, so an "apply to all" answer settles the ones still waiting.
let answerForAll = null;
let asking = Promise.resolve();

function ask(row, key) {
  const turn = asking.then(
    () =>
      new Promise((resolve) => {
        if (answerForAll) return resolve(answerForAll);
        const prompt = Object.assign(document.createElement("div"), { className: "conflict-prompt", role: "group" });
        prompt.setAttribute("aria-label", `${key} already exists`);
        const text = Object.assign(document.createElement("span"), { textContent: `${key} already exists.` });
        const all = Object.assign(document.createElement("input"), { type: "checkbox" });
        const allLabel = Object.assign(document.createElement("label"), { className: "hint" });
        allLabel.append(all, " apply to all");
        const choices = [
          ["replace", "Replace"],
          ["rename", "Keep both"],
          ["skip", "Skip"],
        ].map(([value, label]) => {
          const button = Object.assign(document.createElement("button"), { type: "button", textContent: label });
          if (value !== "rename") button.className = "secondary"; // keeping both is the safe default
          button.addEventListener("click", () => {
            if (all.checked) answerForAll = value;
            prompt.remove();
            resolve(value);
          });
          return button;
        });
        prompt.append(text, ...choices, allLabel);
        row.querySelector(".status").textContent = "Waiting for your answer…";
        row.append(prompt);
        choices[1].focus();
      }),
  );
  asking = turn;
  return turn;
}

const send = form.dataset.direct === "s3" ? sendToS3 : sendThroughApp;

// Bytes already stored: "skip" (the form's default) or "keep"; an "apply to all" answer wins.
let duplicatesForAll = null;
const duplicatePrompts = new Set(); // the rows still offering Keep both, for an answer to all

function offerKeepBoth(row, record, keep) {
  const prompt = Object.assign(document.createElement("div"), { className: "conflict-prompt", role: "group" });
  prompt.setAttribute("aria-label", `Already in the gallery as ${record.key}`);
  const all = Object.assign(document.createElement("input"), { type: "checkbox" });
  const allLabel = Object.assign(document.createElement("label"), { className: "hint" });
  allLabel.append(all, " apply to all");
  const answer = (value) => {
    const rows = all.checked ? [...duplicatePrompts] : [prompt];
    if (all.checked) duplicatesForAll = value;
    for (const each of rows) {
      duplicatePrompts.delete(each);
      each.remove();
      if (value === "keep") each.keep();
    }
  };
  const choices = [
    ["skip", "Skip"],
    ["keep", "Keep both"],
  ].map(([value, label]) => {
    const button = Object.assign(document.createElement("button"), { type: "button", textContent: label });
    if (value !== "skip") button.className = "secondary"; // skipping is the default, already done
    button.addEventListener("click", () => answer(value));
    return button;
  });
  prompt.keep = keep;
  prompt.append(...choices, allLabel);
  duplicatePrompts.add(prompt);
  row.append(prompt);
}

function showDuplicate(row, status, record) {
  row.classList.add("duplicate");
  status.className = "status";
  status.textContent = "Already in the gallery as ";
  const link = Object.assign(document.createElement("a"), {
    href: `${urls.browseUrl}?key=${encodeURIComponent(record.duplicate_of)}`,
    textContent: record.duplicate_of,
  });
  status.append(link, ": skipped, nothing stored.");
}

async function uploadOne(file, key, choice, batch, stored, onDuplicate = "skip", onChange = () => {}) {
  const row = document.createElement("li");
  const shown = relativePath(file) || file.name;
  const name = Object.assign(document.createElement("span"), { textContent: `${shown} → ${key}` });
  const bar = Object.assign(document.createElement("progress"), { max: 100, value: 0 });
  bar.setAttribute("aria-label", `Upload progress of ${file.name}`);
  const status = Object.assign(document.createElement("span"), { className: "status", textContent: "Waiting…" });
  row.append(name, bar, status);
  list.append(row);
  const onProgress = (ratio) => {
    bar.value = Math.round(ratio * 100);
    status.textContent = `Uploading… ${bar.value}%`;
  };
  const skip = () => {
    bar.value = 0;
    status.className = "status";
    status.textContent = "Skipped: a photo with this key exists; nothing changed.";
    return "skipped";
  };
  try {
    const duplicates = duplicatesForAll || onDuplicate;
    let onConflict = choice === "ask" ? "fail" : choice;
    // When duplicates are skipped, the server answers a duplicate before any key question.
    if (choice === "ask" && duplicates === "keep" && (await keyExists(key))) onConflict = await ask(row, key);
    if (onConflict === "skip") return skip();
    let record;
    const onStage = (t) => (status.textContent = t);
    try {
      record = await send(file, key, onConflict, batch, onProgress, onStage, duplicates);
    } catch (error) {
      if (!(error instanceof Conflict)) throw error;
      onConflict = await ask(row, key); // taken (by other bytes) while we were sending
      if (onConflict === "skip") return skip();
      record = await send(file, key, onConflict, batch, onProgress, onStage, duplicates);
    }
    if (record.duplicate_of) {
      showDuplicate(row, status, record);
      offerKeepBoth(row, record, () => {
        // Kept after all: sent again as a new row's work, never replacing what the key holds.
        row.remove();
        uploadOne(file, key, "rename", batch, stored, "keep").then((outcome) => onChange("duplicate", outcome));
      });
      return "duplicate";
    }
    stored.push(record);
    row.classList.add("done");
    bar.value = 100;
    status.className = "status ok";
    const done = record.key !== key ? `Stored as ${record.key} (kept both). ` : "Stored. ";
    status.textContent = record.replaced ? "Stored; the old photo is in its version history. " : done;
    const link = Object.assign(document.createElement("a"), {
      href: `${urls.browseUrl}?key=${encodeURIComponent(record.key)}`,
      textContent: "Browse it",
    });
    status.append(link);
    return record.replaced ? "replaced" : "stored";
  } catch (error) {
    status.className = "status error";
    status.textContent = `Not uploaded: ${error.message}`;
    row.classList.add("failed");
    return "failed";
  }
}

// After a batch: the new photos as a grid, with a link to the gallery showing just this batch.
// The rows of files that went well fold away; failed ones stay in view.
function showSummary(stored, batch, total) {
  const section = document.getElementById("upload-results");
  const grid = document.getElementById("upload-grid");
  const link = document.getElementById("upload-batch-link");
  grid.replaceChildren(
    ...stored.map((record) => {
      const tile = Object.assign(document.createElement("li"), { className: "tile" });
      const browse = `${urls.browseUrl}?key=${encodeURIComponent(record.key)}`;
      const image = Object.assign(document.createElement("img"), {
        src: record.thumb_url,
        alt: record.key,
        width: record.thumb_width,
        height: record.thumb_height,
        loading: "lazy",
      });
      const caption = Object.assign(document.createElement("a"), {
        className: "tile-key",
        href: browse,
        title: record.key,
        textContent: record.key,
      });
      const picture = Object.assign(document.createElement("a"), { href: browse });
      picture.append(image);
      const meta = Object.assign(document.createElement("div"), { className: "tile-meta" });
      meta.append(caption);
      tile.append(picture, meta);
      return tile;
    }),
  );
  link.href = `${urls.galleryUrl}?batch=${batch}`;
  link.textContent = stored.length === 1 ? "Show this photo in the gallery" : `Show these ${stored.length} photos in the gallery`;
  section.hidden = stored.length === 0;
  const toggle = document.getElementById("upload-details");
  const folded = total > 3;
  list.classList.toggle("folded", folded);
  toggle.hidden = !folded;
  toggle.textContent = `Show each file (${total})`;
}

// A file's path inside a dropped or chosen folder ("" for a loose file).
const relativePath = (file) => file.relativePath || file.webkitRelativePath || "";

// As the server's upload_targets: the prefix is a folder in front of everything; inside it one
// file goes under the typed key, several under their names in the folder the key names. A file
// from a folder keeps its path in that folder, folders included.
const asFolder = (name) => (name && !name.endsWith("/") ? `${name}/` : name);
function targets(files, key, prefix) {
  const folder = asFolder(prefix);
  if (files.length === 1 && key && !relativePath(files[0])) return [folder + key];
  const name = (file) => (relativePath(file) ? keyFromPath(relativePath(file)) : keyFromName(file.name));
  return Array.from(files, (file) => folder + asFolder(key) + name(file));
}

async function uploadAll(files) {
  const keyInput = document.getElementById("key");
  const prefixInput = document.getElementById("prefix");
  // Dropped files skip the browser's own check of the fields' pattern (the key grammar).
  if (!keyInput.checkValidity() || !prefixInput.checkValidity()) {
    form.reportValidity();
    return;
  }
  const keys = targets(files, keyInput.value.trim(), prefixInput.value.trim());
  const choice = (form.querySelector('input[name="on_conflict"]:checked') || { value: "ask" }).value;
  const onDuplicate = (form.querySelector('input[name="on_duplicate"]:checked') || { value: "skip" }).value;
  answerForAll = null;
  duplicatesForAll = null;
  duplicatePrompts.clear();
  list.replaceChildren();
  list.classList.remove("folded");
  document.getElementById("upload-details").hidden = true;
  document.getElementById("upload-results").hidden = true;
  const batch = newBatch();
  const stored = [];
  const button = form.querySelector('button[type="submit"]');
  button.disabled = true;
  const summary = document.getElementById("upload-summary");
  summary.textContent = files.length === 1 ? "Uploading 1 file…" : `Uploading ${files.length} files…`;
  bringIntoView(summary); // on a phone the progress rows start below the screen
  // Two at a time: fast on a LAN, gentle on the server.
  const queue = Array.from(files, (file, i) => [file, keys[i]]);
  const outcomes = [];
  const summarise = () => {
    const count = (what) => outcomes.filter((o) => o === what).length;
    summary.textContent =
      `${count("stored") + count("replaced")} stored` +
      (count("replaced") ? ` (${count("replaced")} replaced an older version)` : "") +
      (count("duplicate") ? `, ${count("duplicate")} already in the gallery (skipped)` : "") +
      (count("skipped") ? `, ${count("skipped")} skipped` : "") +
      (count("failed") ? `, ${count("failed")} failed` : "") +
      ".";
    showSummary(stored, batch, files.length);
  };
  // A duplicate kept after all changes the counts once its upload ends.
  const changed = (before, after) => {
    outcomes.splice(outcomes.indexOf(before), 1, after);
    summarise();
  };
  const worker = async () => {
    while (queue.length) {
      const [file, key] = queue.shift();
      outcomes.push(await uploadOne(file, key, choice, batch, stored, onDuplicate, changed));
    }
  };
  await Promise.all([worker(), worker()]);
  button.disabled = false;
  summarise();
  bringIntoView(summary);
}

document.getElementById("upload-details").addEventListener("click", (event) => {
  const folded = list.classList.toggle("folded");
  event.target.textContent = folded ? `Show each file (${list.children.length})` : "Hide the files that went well";
});

form.addEventListener("submit", (event) => {
  if (!input.files.length) return; // let the browser say the field is required
  event.preventDefault();
  uploadAll(input.files);
});

// The folder picker (webkitdirectory) needs this script, so it shows only with it.
const folderPicker = document.getElementById("folder-picker");
if (folderPicker) {
  folderPicker.hidden = false;
  document.getElementById("folder").addEventListener("change", (event) => {
    if (event.target.files.length) uploadAll(Array.from(event.target.files));
  });
}

// Every file under dropped folders, each with its path from the dropped folder's parent.
function readEntries(reader) {
  return new Promise((resolve, reject) => reader.readEntries(resolve, reject));
}

async function filesUnder(entry) {
  if (entry.isFile) {
    const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
    return [Object.assign(file, { relativePath: entry.fullPath.replace(/^\//, "") })];
  }
  const reader = entry.createReader();
  const found = [];
  for (let batch = await readEntries(reader); batch.length; batch = await readEntries(reader)) {
    for (const child of batch) if (!child.name.startsWith(".")) found.push(...(await filesUnder(child)));
  }
  return found;
}

// The whole window takes dropped files, not only the drop zone. dragenter/dragleave fire for every
// element crossed, so a count says when the drag has really left the window.
let dragDepth = 0;
const dragging = (on) => {
  zone.classList.toggle("over", on);
  document.body.classList.toggle("dropping", on);
};
const carriesFiles = (event) => Array.from(event.dataTransfer ? event.dataTransfer.types : []).includes("Files");
document.addEventListener("dragenter", (event) => {
  if (!carriesFiles(event)) return;
  event.preventDefault();
  dragDepth += 1;
  dragging(true);
});
document.addEventListener("dragover", (event) => {
  if (carriesFiles(event)) event.preventDefault(); // allows the drop
});
document.addEventListener("dragleave", () => {
  dragDepth = Math.max(0, dragDepth - 1);
  if (!dragDepth) dragging(false);
});
document.addEventListener("drop", (event) => {
  dragDepth = 0;
  dragging(false);
  if (!event.dataTransfer || !event.dataTransfer.files.length) return;
  event.preventDefault(); // the browser would otherwise open the file
  // Entries must be taken while the event lasts; folders among them are read afterwards.
  const entries = Array.from(event.dataTransfer.items || [], (item) =>
    item.webkitGetAsEntry ? item.webkitGetAsEntry() : null,
  );
  if (entries.some((entry) => entry && entry.isDirectory)) {
    Promise.all(entries.filter(Boolean).map(filesUnder)).then((found) => uploadAll(found.flat()));
    return;
  }
  input.files = event.dataTransfer.files;
  uploadAll(event.dataTransfer.files);
});
