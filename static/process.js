// Image Processing tab, enhanced: steps are edited in place (add/remove/reorder, parameters
// follow the chosen operation), Preview and Save call POST /api/process without reloading.
// Without this script the same form works through plain submits. Limits come from the page
// (the form's data- attributes and the inputs' own constraints), which the server renders.
"use strict";

(() => {
  const form = document.getElementById("process-form");
  if (!form) return;
  const spec = JSON.parse(document.getElementById("process-spec").textContent);
  const ops = Object.fromEntries(spec.map((s) => [s.op, s]));
  const list = document.getElementById("steps");
  const keyInput = document.getElementById("proc-key");
  const fileInput = document.getElementById("proc-file");
  const saveAs = document.getElementById("proc-save-as");
  const formatSelect = document.getElementById("proc-format");
  const errorBox = document.getElementById("proc-error");
  const savedBox = document.getElementById("proc-saved");
  const compare = document.getElementById("compare");
  const originalImg = document.getElementById("proc-original");
  const resultImg = document.getElementById("proc-result");
  const MAX_STEPS = Number(form.dataset.maxSteps);
  document.body.classList.add("js");

  const el = (tag, props = {}, children = []) => {
    const node = Object.assign(document.createElement(tag), props);
    node.append(...children);
    return node;
  };
  const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;

  function paramField(p, value) {
    let input;
    if (p.kind === "choice" || p.kind === "bool") {
      const choices = p.kind === "bool" ? ["true", "false"] : p.choices;
      const current = value !== undefined && value !== "" ? String(value) : String(p.default);
      input = el("select", {}, choices.map((c) => el("option", { value: c, textContent: c, selected: c === current })));
    } else if (p.kind === "color") {
      const maxLength = Number(form.dataset.colorLength);
      input = el("input", { type: "text", placeholder: "#000000", maxLength, value: value ?? "" });
    } else {
      input = el("input", {
        type: "number",
        min: p.min,
        max: p.max,
        step: p.kind === "float" ? "any" : p.odd ? 2 : 1,
        placeholder: p.default ?? "",
        value: value ?? "",
      });
    }
    input.dataset.param = p.name;
    input.dataset.kind = p.kind;
    input.title = p.help;
    const def = p.default === null ? "" : `; default ${p.default}`;
    return el("label", { className: "param" }, [
      el("span", {}, [`${p.name} `, el("small", { className: "hint", textContent: p.range + def })]),
      input,
    ]);
  }

  function fillParams(li, values = {}) {
    const op = ops[li.querySelector(".step-op").value];
    li.querySelector(".hint.op-help")?.remove();
    li.querySelector(".params")?.remove();
    li.querySelector("p.hint")?.remove();
    li.append(
      el("p", { className: "hint op-help", textContent: op.help }),
      el("div", { className: "params" }, op.params.map((p) => paramField(p, values[p.name]))),
    );
  }

  function renumber() {
    const items = [...list.querySelectorAll(":scope > li.step")];
    items.forEach((li, i) => {
      li.querySelector(".step-op").name = `steps-${i}-op`;
      for (const input of li.querySelectorAll("[data-param]")) input.name = `steps-${i}-${input.dataset.param}`;
      li.querySelector('[value^="up"]').disabled = i === 0;
      li.querySelector('[value^="down"]').disabled = i === items.length - 1;
    });
    form.querySelector('button[value="add"]').disabled = items.length >= MAX_STEPS;
  }

  function newStep(opName) {
    const select = el("select", { className: "step-op" }, spec.map((s) => el("option", { textContent: s.op })));
    select.value = opName;
    select.setAttribute("aria-label", "Operation");
    const tool = (value, text, title) => el("button", { type: "submit", name: "edit", value, className: "link", textContent: text, title });
    const li = el("li", { className: "step" }, [
      el("div", { className: "step-head" }, [
        select,
        el("span", { className: "step-tools" }, [tool("up", "↑", "Move up"), tool("down", "↓", "Move down"), tool("remove", "Remove", "Remove")]),
      ]),
    ]);
    fillParams(li);
    return li;
  }

  // Steps rendered by the server get their parameter fields tagged so renumbering finds them.
  for (const li of list.querySelectorAll(":scope > li.step")) {
    for (const input of li.querySelectorAll(".params [name]")) {
      input.dataset.param = input.name.replace(/^steps-\d+-/, "");
      const p = ops[li.querySelector(".step-op").value].params.find((q) => q.name === input.dataset.param);
      input.dataset.kind = p ? p.kind : "text";
    }
  }

  list.addEventListener("change", (event) => {
    if (event.target.classList.contains("step-op")) {
      fillParams(event.target.closest("li.step"));
      renumber();
    }
  });

  form.addEventListener("click", (event) => {
    const button = event.target.closest('button[name="edit"]');
    if (!button) return;
    event.preventDefault();
    const li = button.closest("li.step");
    const action = button.value.split("-")[0];
    if (action === "add") list.append(newStep(form.querySelector('[name="new_op"]').value));
    else if (action === "remove") li.remove();
    else if (action === "up" && li.previousElementSibling) li.previousElementSibling.before(li);
    else if (action === "down" && li.nextElementSibling) li.nextElementSibling.after(li);
    renumber();
  });

  function collectOps() {
    return [...list.querySelectorAll(":scope > li.step")].map((li) => {
      const step = { op: li.querySelector(".step-op").value };
      for (const input of li.querySelectorAll("[data-param]")) {
        if (input.value === "") continue;
        const kind = input.dataset.kind;
        step[input.dataset.param] =
          kind === "int" || kind === "float" ? Number(input.value) : kind === "bool" ? input.value === "true" : input.value;
      }
      return step;
    });
  }

  // As the server's derived_key: the output format's extension (else the source's, else JPEG's),
  // the stem cut so that the whole key fits the key length.
  function derivedKey(source) {
    const clean = (source || "upload").replace(/[^A-Za-z0-9._/-]+/g, "-").replace(/^\/+|\/+$/g, "") || "upload";
    const match = clean.match(/^(.*)(\.[A-Za-z0-9]+)$/);
    const ext =
      formatSelect.selectedOptions[0]?.dataset.extension || (match ? match[2] : formatSelect.dataset.defaultExtension);
    const suffix = `-processed${ext}`;
    const stem = (match ? match[1] : clean).slice(0, saveAs.maxLength - suffix.length).replace(/[-_.]+$/, "");
    return (stem || "upload") + suffix;
  }

  function updateDerived() {
    if (saveAs.value !== "" && saveAs.value !== saveAs.dataset.derived) return; // the user typed their own
    const file = fileInput.files[0];
    const source = file ? file.name : keyInput.value.trim();
    saveAs.value = saveAs.dataset.derived = source ? derivedKey(source) : "";
  }
  for (const input of [keyInput, fileInput, formatSelect]) input.addEventListener("change", updateDerived);
  keyInput.addEventListener("input", updateDerived);

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = !message;
  }

  async function showOriginal() {
    const file = fileInput.files[0];
    const caption = document.getElementById("proc-original-caption");
    if (file) {
      originalImg.src = URL.createObjectURL(file);
      originalImg.onload = () => {
        caption.textContent = `Original · ${originalImg.naturalWidth}×${originalImg.naturalHeight} · ${kb(file.size)}`;
      };
      return;
    }
    const key = keyInput.value.trim();
    const response = await fetch(`${form.dataset.imageApi}/${key.split("/").map(encodeURIComponent).join("/")}`, {
      headers: { Accept: "application/json" },
    });
    if (!response.ok) return;
    const record = await response.json();
    originalImg.src = record.url;
    caption.textContent = `Original · ${record.width}×${record.height} · ${kb(record.bytes)}`;
  }

  // A large file is sent to storage once and then named by its id, preview after preview.
  let staged = { file: null, id: null };
  async function stagedId(file) {
    if (staged.file !== file) staged = { file, id: await stageFile(form, file) };
    return staged.id;
  }

  form.addEventListener("submit", async (event) => {
    const action = event.submitter ? event.submitter.value : "preview";
    if (action !== "preview" && action !== "save") return;
    event.preventDefault();
    const body = new FormData();
    const file = fileInput.files[0];
    const buttons = form.querySelectorAll('button[name="action"]');
    buttons.forEach((b) => (b.disabled = true));
    showError("");
    try {
      if (file && needsStaging(form, file)) body.append("staged_id", await stagedId(file));
      else if (file) body.append("file", file);
      else body.append("source_key", keyInput.value.trim());
    } catch (error) {
      showError(error.message);
      buttons.forEach((b) => (b.disabled = false));
      return;
    }
    body.append("ops", JSON.stringify(collectOps()));
    body.append("format", formatSelect.value);
    body.append("quality", form.querySelector('[name="quality"]').value);
    if (action === "save") body.append("save_as", saveAs.value.trim());
    const started = performance.now();
    try {
      const response = await fetch(form.dataset.api, { method: "POST", body, headers: { "X-CSRFToken": csrfToken() } });
      if (!response.ok) {
        const problem = await response.json().catch(() => null);
        showError(problem?.error?.message || `The server answered ${response.status}.`);
        return;
      }
      if (action === "save") {
        const record = await response.json();
        const link = el("a", { href: `${form.dataset.browse}?key=${encodeURIComponent(record.key)}`, textContent: record.key });
        savedBox.replaceChildren("Saved as ", link, record.replaced ? " (replaced the earlier image)." : ".");
        savedBox.hidden = false;
        return;
      }
      const blob = await response.blob();
      const ms = performance.now() - started;
      if (resultImg.src.startsWith("blob:")) URL.revokeObjectURL(resultImg.src);
      resultImg.src = URL.createObjectURL(blob);
      const h = response.headers;
      // A result too large to pass through the server comes from storage, without the X- headers.
      if (!h.get("X-Image-Width")) await resultImg.decode().catch(() => null);
      const cache = h.get("X-Cache") === "hit" ? " (cache hit)" : "";
      const width = h.get("X-Image-Width") || resultImg.naturalWidth;
      const height = h.get("X-Image-Height") || resultImg.naturalHeight;
      const server = response.redirected ? "fetched from storage" : `${h.get("X-Processing-Ms")} ms on the server`;
      document.getElementById("proc-result-caption").textContent =
        `Result · ${width}×${height} · ${kb(blob.size)} · ${blob.type.replace("image/", "")}` +
        ` · ${server}, ${ms.toFixed(0)} ms here${cache}`;
      compare.hidden = false;
      await showOriginal();
    } catch (error) {
      showError(`The request failed: ${error.message}`);
    } finally {
      buttons.forEach((b) => (b.disabled = false));
    }
  });

  renumber();
})();
