// Image Processing studio. Without this script the page is a plain form (the server edits the
// steps and renders the result). With it, the steps live in `state` and are drawn from it;
// every change previews at display size (POST /api/process with preview=1, debounced, the
// newest request wins), Ctrl/⌘+Z steps back through earlier states, steps can be dragged or
// moved with Alt+↑/↓, a crop box can be drawn on the image, and saving asks before it
// replaces an image. Limits come from the page (data- attributes, the spec the server wrote).
"use strict";

(() => {
  const form = document.getElementById("process-form");
  if (!form) return;
  const spec = JSON.parse(document.getElementById("process-spec").textContent);
  const initial = JSON.parse(document.getElementById("process-state").textContent);
  const ops = Object.fromEntries(spec.ops.map((s) => [s.op, s]));
  const $ = (id) => document.getElementById(id);
  const list = $("steps");
  const keyInput = $("proc-key");
  const fileInput = $("proc-file");
  const saveAs = $("proc-save-as");
  const formatSelect = $("proc-format");
  const qualityInput = $("proc-quality");
  const undoButton = $("proc-undo");
  const errorBox = $("proc-error");
  const savedBox = $("proc-saved");
  const conflictBox = $("proc-conflict");
  const compare = $("compare");
  const stage = $("stage");
  const beforeImg = $("proc-original");
  const afterImg = $("proc-result");
  const cropImg = $("proc-crop-source");
  const cropBox = stage.querySelector(".crop-box");
  const split = $("proc-split");
  const beforeCaption = $("proc-original-caption");
  const afterCaption = $("proc-result-caption");
  const MAX_STEPS = Number(form.dataset.maxSteps);
  const ASPECTS = { free: 0, "1:1": 1, "4:3": 4 / 3, "16:9": 16 / 9 };
  document.body.classList.add("js");

  const el = (tag, props = {}, children = []) => {
    const node = Object.assign(document.createElement(tag), props);
    node.append(...children);
    return node;
  };
  const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;
  const csrfHeaders = () => ({ "X-CSRFToken": document.querySelector('meta[name="csrf-token"]').content });

  // ---------------------------------------------------------------- state
  let nextId = 1;
  let steps = [];
  let sourceSize = null; // the source's own size, from the first preview

  function typed(p, raw) {
    if (raw === undefined || raw === null || raw === "") return null;
    if (p.kind === "int" || p.kind === "float") return Number.isFinite(Number(raw)) ? Number(raw) : String(raw);
    if (p.kind === "bool") return raw === true || ["true", "on", "1", "yes"].includes(String(raw).toLowerCase());
    return String(raw);
  }

  function makeStep(op, values = {}, enabled = true, aspect = "free") {
    const step = { id: nextId++, op: ops[op] ? op : spec.ops[0].op, enabled, aspect, values: {} };
    for (const p of ops[step.op].params) step.values[p.name] = typed(p, values[p.name]);
    return step;
  }

  const snapshot = () =>
    JSON.stringify({ steps, format: formatSelect.value, quality: qualityInput.value });

  function restore(text) {
    const saved = JSON.parse(text);
    steps = saved.steps;
    formatSelect.value = saved.format;
    qualityInput.value = saved.quality;
  }

  // Undo: the states before each finished change (a slider counts once, when let go).
  const history = [];
  let committed = "";
  function commit() {
    const now = snapshot();
    if (now === committed) return;
    history.push(committed);
    if (history.length > 200) history.shift();
    committed = now;
    undoButton.disabled = false;
  }
  function undo() {
    if (!history.length) return;
    committed = history.pop();
    restore(committed);
    undoButton.disabled = history.length === 0;
    if (cropping && !steps.some((s) => s.id === cropping.id && s.op === "crop")) endCrop();
    renderSteps();
    suggestKey();
    schedulePreview(0);
  }

  function enabledOps(upTo = steps.length) {
    return steps
      .slice(0, upTo)
      .filter((s) => s.enabled)
      .map((s) => {
        const out = { op: s.op };
        for (const [name, value] of Object.entries(s.values)) if (value !== null) out[name] = value;
        return out;
      });
  }

  // ---------------------------------------------------------------- step editor
  function decimals(step) {
    return step >= 1 ? 0 : Math.ceil(-Math.log10(step));
  }

  // Sizes and positions slide up to the source's size (the box takes more); the rest over their range.
  function sliderRange(p) {
    let max = p.max;
    const dim = p.name === "width" || p.name === "x" ? 0 : p.name === "height" || p.name === "y" ? 1 : -1;
    if (p.max >= 1000 && dim >= 0) max = sourceSize ? sourceSize[dim] : 4000;
    const step = p.kind === "int" ? (p.odd ? 2 : 1) : 10 ** Math.floor(Math.log10((p.max - p.min) / 200));
    return { min: p.min, max, step, dim };
  }

  function numberControl(step, p, id) {
    const range = sliderRange(p);
    const value = step.values[p.name];
    const fallback = p.default ?? (range.dim >= 0 && sourceSize ? sourceSize[range.dim] : range.min);
    const slider = el("input", {
      type: "range",
      min: range.min,
      max: range.max,
      step: range.step,
      value: typeof value === "number" ? value : fallback,
      tabIndex: -1, // the number box beside it is the keyboard's control
    });
    slider.setAttribute("aria-hidden", "true");
    if (range.dim >= 0) slider.dataset.dim = range.dim;
    const box = el("input", {
      type: "number",
      id,
      name: id, // the plain form's names, kept so the fields read the same either way
      min: p.min,
      max: p.max,
      step: p.kind === "float" ? "any" : p.odd ? 2 : 1,
      placeholder: p.default ?? "",
      value: value ?? "",
      title: p.range,
    });
    box.dataset.role = `p:${p.name}`;
    slider.classList.toggle("unset", value === null);
    slider.addEventListener("input", () => {
      const places = p.kind === "float" ? decimals(range.step) : 0;
      const text = Number(slider.value).toFixed(places); // no float noise such as 0.30000000000000004
      box.value = places ? text.replace(/\.?0+$/, "") || "0" : text;
      slider.classList.remove("unset");
      setValue(step, p, box.value);
    });
    box.addEventListener("input", () => {
      if (box.value !== "" && Number.isFinite(Number(box.value))) slider.value = box.value;
      slider.classList.toggle("unset", box.value === "");
      setValue(step, p, box.value);
    });
    return [el("span", { className: "slider" }, [slider, box])];
  }

  function colorControl(step, p, id) {
    const value = step.values[p.name] ?? p.default ?? "#000000ff";
    const hex = value.length >= 7 ? value.slice(0, 7) : "#000000";
    const alpha = value.length === 9 ? parseInt(value.slice(7), 16) : 255;
    const picker = el("input", { type: "color", id, name: id, value: hex });
    picker.dataset.role = `p:${p.name}`;
    const opacity = el("input", { type: "range", min: 0, max: 100, step: 1, value: Math.round((alpha * 100) / 255) });
    opacity.setAttribute("aria-label", `${p.name} opacity`);
    const shown = el("output", { textContent: `${opacity.value} %` });
    const update = () => {
      shown.textContent = `${opacity.value} %`;
      const a = Math.round((Number(opacity.value) * 255) / 100);
      setValue(step, p, picker.value + a.toString(16).padStart(2, "0"));
    };
    picker.addEventListener("input", update);
    opacity.addEventListener("input", update);
    return [el("span", { className: "color" }, [picker, el("span", { className: "opacity" }, ["opacity ", opacity, shown])])];
  }

  function paramField(step, p, index) {
    const id = `steps-${index}-${p.name}`;
    let controls;
    if (p.kind === "int" || p.kind === "float") controls = numberControl(step, p, id);
    else if (p.kind === "color") controls = colorControl(step, p, id);
    else if (p.kind === "bool") {
      const box = el("input", { type: "checkbox", id, name: id, checked: step.values[p.name] ?? p.default });
      box.addEventListener("change", () => setValue(step, p, box.checked));
      box.dataset.role = `p:${p.name}`;
      controls = [el("span", { className: "check" }, [box, " on"])];
    } else {
      const current = step.values[p.name] ?? p.default;
      const select = el("select", { id, name: id }, p.choices.map((c) => el("option", { textContent: c, selected: c === current })));
      select.addEventListener("change", () => setValue(step, p, select.value));
      select.dataset.role = `p:${p.name}`;
      controls = [select];
    }
    return el("div", { className: "param" }, [
      el("label", { htmlFor: id, textContent: p.name, title: p.range }),
      el("small", { className: "hint", textContent: p.help || p.range }),
      ...controls,
    ]);
  }

  // Resize takes a scale or a width/height, not both: setting one clears the other.
  const EXCLUSIVE = { resize: { scale: ["width", "height"], width: ["scale"], height: ["scale"] } };

  function setValue(step, p, raw) {
    step.values[p.name] = typed(p, raw);
    const others = EXCLUSIVE[step.op]?.[p.name];
    if (others && step.values[p.name] !== null) {
      const li = list.querySelector(`li[data-id="${step.id}"]`);
      for (const name of others) {
        if (step.values[name] === null) continue;
        step.values[name] = null;
        const box = li?.querySelector(`[data-role="p:${name}"]`);
        if (box) box.value = "";
        box?.previousElementSibling?.classList.add("unset");
      }
    }
    if (cropping && cropping.id === step.id) drawCropBox();
    schedulePreview();
  }

  function tool(act, text, label) {
    const button = el("button", { type: "button", className: "link", textContent: text, title: label });
    button.setAttribute("aria-label", label);
    button.dataset.act = act;
    button.dataset.role = act;
    return button;
  }

  function renderStep(step, index) {
    const n = index + 1;
    const select = el("select", { className: "step-op", name: `steps-${index}-op` }, spec.ops.map((s) => el("option", { textContent: s.op })));
    select.value = step.op;
    select.setAttribute("aria-label", `Operation of step ${n}`);
    select.dataset.role = "op";
    const on = el("input", { type: "checkbox", className: "step-on", checked: step.enabled, title: "Apply this step" });
    on.setAttribute("aria-label", `Apply step ${n} (${step.op})`);
    on.dataset.role = "on";
    const handle = el("span", { className: "handle", textContent: "⠿", title: "Drag to reorder" });
    const up = tool("up", "↑", `Move step ${n} up`);
    const down = tool("down", "↓", `Move step ${n} down`);
    up.disabled = index === 0;
    down.disabled = index === steps.length - 1;
    const li = el("li", { className: `step${step.enabled ? "" : " off"}` }, [
      el("div", { className: "step-head" }, [
        handle,
        on,
        select,
        el("span", { className: "step-tools" }, [up, down, tool("remove", "Remove", `Remove step ${n}`)]),
      ]),
      el("p", { className: "hint op-help", textContent: ops[step.op].help }),
      el("div", { className: "params" }, ops[step.op].params.map((p) => paramField(step, p, index))),
    ]);
    li.dataset.id = step.id;
    if (step.op === "crop") li.append(cropTools(step));
    return li;
  }

  function cropTools(step) {
    const aspect = el("select", {}, Object.keys(ASPECTS).map((a) => el("option", { textContent: a })));
    aspect.value = step.aspect || "free";
    aspect.dataset.role = "aspect";
    aspect.addEventListener("change", () => {
      step.aspect = aspect.value;
      fitAspect(step);
      commit();
    });
    const draw = tool("draw", "Draw on the image", "Draw the crop box on the image");
    draw.className = "secondary";
    return el("p", { className: "crop-tools" }, [el("label", {}, ["Aspect ", aspect]), draw]);
  }

  function renderSteps(focus = null) {
    list.replaceChildren(...steps.map(renderStep));
    form.querySelector('button[value="add"]').disabled = steps.length >= MAX_STEPS;
    if (focus) list.querySelector(`li[data-id="${focus.id}"] [data-role="${focus.role}"]`)?.focus();
  }

  function structural(change, focus = null) {
    change();
    renderSteps(focus);
    commit();
    schedulePreview(0);
  }

  function move(step, by, role) {
    const i = steps.indexOf(step);
    const j = i + by;
    if (j < 0 || j >= steps.length) return;
    structural(() => steps.splice(j, 0, ...steps.splice(i, 1)), { id: step.id, role });
  }

  const stepOf = (node) => {
    const li = node.closest("li.step");
    return li && steps.find((s) => String(s.id) === li.dataset.id);
  };

  list.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-act]");
    const step = button && stepOf(button);
    if (!step) return;
    const act = button.dataset.act;
    if (act === "up") move(step, -1, steps.indexOf(step) === 1 ? "down" : "up");
    else if (act === "down") move(step, 1, steps.indexOf(step) === steps.length - 2 ? "up" : "down");
    else if (act === "remove") {
      if (cropping?.id === step.id) endCrop();
      structural(() => steps.splice(steps.indexOf(step), 1));
    } else if (act === "draw") startCrop(step);
  });

  list.addEventListener("change", (event) => {
    const step = stepOf(event.target);
    if (!step) return;
    if (event.target.classList.contains("step-op")) {
      if (cropping?.id === step.id) endCrop();
      const replacement = makeStep(event.target.value, {}, step.enabled);
      structural(() => steps.splice(steps.indexOf(step), 1, replacement), { id: replacement.id, role: "op" });
    } else if (event.target.classList.contains("step-on")) {
      step.enabled = event.target.checked;
      event.target.closest("li").classList.toggle("off", !step.enabled);
      commit();
      schedulePreview(0);
    } else commit(); // a parameter settled (slider let go, number typed, choice made)
  });

  list.addEventListener("keydown", (event) => {
    if (!event.altKey || (event.key !== "ArrowUp" && event.key !== "ArrowDown")) return;
    const step = stepOf(event.target);
    if (!step) return;
    event.preventDefault();
    move(step, event.key === "ArrowUp" ? -1 : 1, event.target.dataset.role || "op");
  });

  // Drag by the handle (mouse, pen or touch): the step follows the pointer, the order is kept on release.
  list.addEventListener("pointerdown", (event) => {
    const handle = event.target.closest(".handle");
    if (!handle) return;
    event.preventDefault();
    const li = handle.closest("li.step");
    li.classList.add("dragging");
    // Listened for on the document: moving the step in the list would end a pointer capture.
    const follow = (e) => {
      const others = [...list.children].filter((x) => x !== li);
      const before = others.find((x) => {
        const r = x.getBoundingClientRect();
        return e.clientY < r.top + r.height / 2;
      });
      list.insertBefore(li, before || null);
    };
    const drop = () => {
      document.removeEventListener("pointermove", follow);
      document.removeEventListener("pointerup", drop);
      document.removeEventListener("pointercancel", drop);
      li.classList.remove("dragging");
      const order = [...list.children].map((x) => x.dataset.id);
      structural(() => steps.sort((a, b) => order.indexOf(String(a.id)) - order.indexOf(String(b.id))));
    };
    document.addEventListener("pointermove", follow);
    document.addEventListener("pointerup", drop);
    document.addEventListener("pointercancel", drop);
  });

  function applyPreset(name) {
    const preset = spec.presets.find((p) => p.name === name);
    if (!preset) return;
    if (cropping) endCrop();
    structural(() => {
      steps = preset.steps.map((s) => makeStep(s.op, s));
      formatSelect.value = preset.format;
      qualityInput.value = preset.quality;
    });
    suggestKey();
  }

  // The step editor's submit buttons (add, presets) act here; without the script the server does.
  form.addEventListener("click", (event) => {
    const button = event.target.closest('button[name="edit"]');
    if (!button) return;
    event.preventDefault();
    if (button.value === "add") structural(() => steps.push(makeStep(form.querySelector('[name="new_op"]').value)));
    else if (button.value.startsWith("preset-")) applyPreset(button.value.slice("preset-".length));
    else if (button.value === "refresh") conflictBox.hidden = true; // the question's Cancel
  });

  undoButton.addEventListener("click", undo);
  document.addEventListener("keydown", (event) => {
    if (!(event.ctrlKey || event.metaKey) || event.shiftKey || event.key.toLowerCase() !== "z") return;
    const t = event.target;
    if (t === keyInput || t === saveAs) return; // typing a key keeps the browser's own undo
    event.preventDefault();
    undo();
  });

  for (const control of [formatSelect, qualityInput]) {
    control.addEventListener("input", () => schedulePreview());
    control.addEventListener("change", () => {
      commit();
      suggestKey();
    });
  }

  // ---------------------------------------------------------------- save key
  // As the server's derived_key: the output format's extension (else what "as the source" gives for
  // the source's extension: .heic → .jpg; else the source's; else JPEG's), the stem cut so that the
  // whole key fits the key length. (A source with transparency is saved as PNG: the server then
  // names the key .png itself.)
  const asSource = JSON.parse(formatSelect.dataset.asSource || "{}");
  function derivedKey(source) {
    const clean = (source || "upload").replace(/[^A-Za-z0-9._/-]+/g, "-").replace(/^\/+|\/+$/g, "") || "upload";
    const match = clean.match(/^(.*)(\.[A-Za-z0-9]+)$/);
    const sourceExt = match ? asSource[match[2].toLowerCase()] || match[2] : formatSelect.dataset.defaultExtension;
    const ext = formatSelect.selectedOptions[0]?.dataset.extension || sourceExt;
    const suffix = `-edit${ext}`;
    const stem = (match ? match[1] : clean).slice(0, saveAs.maxLength - ext.length - 10).replace(/[-_.]+$/, "");
    return (stem || "upload") + suffix;
  }

  async function freeKey(key) {
    try {
      const response = await fetch(`${form.dataset.freeKey}?key=${encodeURIComponent(key)}`, { headers: { Accept: "application/json" } });
      return response.ok ? (await response.json()).key : key;
    } catch {
      return key;
    }
  }

  // A fresh key (name-edit.jpg, then -edit-2...) unless the person typed their own. The free key
  // comes from the server; whatever is typed meanwhile wins over it, even the same text.
  let suggestion = 0;
  saveAs.addEventListener("input", () => suggestion++);
  async function suggestKey() {
    if (saveAs.value !== "" && saveAs.value !== saveAs.dataset.derived) return;
    const file = fileInput.files[0];
    const source = file ? file.name : keyInput.value.trim();
    const wanted = source ? derivedKey(source) : "";
    saveAs.value = saveAs.dataset.derived = wanted;
    if (!wanted) return;
    const asked = ++suggestion;
    const free = await freeKey(wanted);
    if (asked === suggestion) saveAs.value = saveAs.dataset.derived = free;
  }

  // ---------------------------------------------------------------- preview
  let timer = 0;
  let inflight = null;
  let uploaded = null; // { file, sha256 }: a chosen file is sent once, then named by its hash
  // A file too large for a request body (API Gateway) goes to storage once, then is named by its id.
  let staged = { file: null, id: null };
  async function appendFile(body, file) {
    if (!needsStaging(form, file)) return body.append("file", file);
    if (staged.file !== file) staged = { file, id: await stageFile(form, file) };
    body.append("staged_id", staged.id);
  }
  let previews = 0;

  const hasSource = () => fileInput.files.length > 0 || keyInput.value.trim() !== "";

  async function messageOf(response) {
    const problem = await response.json().catch(() => null);
    return problem?.error?.message || `The server answered ${response.status}.`;
  }

  async function requestPreview(opsList, signal) {
    const file = fileInput.files[0];
    const body = new FormData();
    if (file && uploaded?.file === file) body.append("source_sha256", uploaded.sha256);
    else if (file) await appendFile(body, file);
    else body.append("source_key", keyInput.value.trim());
    body.append("ops", JSON.stringify(opsList));
    body.append("format", formatSelect.value);
    body.append("quality", qualityInput.value);
    body.append("preview", "1");
    const response = await fetch(form.dataset.api, { method: "POST", body, headers: csrfHeaders(), signal });
    if (response.status === 404 && body.has("source_sha256")) {
      uploaded = null; // the server let it go: send the file again
      return requestPreview(opsList, signal);
    }
    if (response.ok && file) uploaded = { file, sha256: response.headers.get("X-Source-Sha256") };
    return response;
  }

  function showImage(img, blob) {
    if (img.src.startsWith("blob:")) URL.revokeObjectURL(img.src);
    img.src = URL.createObjectURL(blob);
    img.hidden = false;
  }

  // A preview that succeeds clears the preview's own error, never a failed save's: the preview may
  // answer after the save did.
  function showError(message, from = "preview") {
    if (!message && from === "preview" && errorBox.dataset.from === "save") return;
    errorBox.dataset.from = from;
    errorBox.textContent = message;
    errorBox.hidden = !message;
    if (message && from === "preview") {
      // An error replaces the result it would otherwise sit above.
      afterImg.hidden = true;
      afterCaption.textContent = "";
      compare.classList.add("failed");
    }
  }

  function schedulePreview(delay = 120) {
    clearTimeout(timer);
    timer = setTimeout(runPreview, delay);
  }

  async function loadBefore() {
    const response = await requestPreview([]);
    if (!response.ok) return false;
    sourceSize = [Number(response.headers.get("X-Full-Width")), Number(response.headers.get("X-Full-Height"))];
    showImage(beforeImg, await response.blob());
    beforeCaption.textContent = `Before · ${sourceSize[0]}×${sourceSize[1]}`;
    for (const slider of list.querySelectorAll("input[type=range][data-dim]")) {
      slider.max = sourceSize[Number(slider.dataset.dim)];
    }
    return true;
  }

  async function runPreview() {
    clearTimeout(timer);
    inflight?.abort();
    if (!hasSource()) {
      compare.classList.add("empty");
      return;
    }
    const controller = (inflight = new AbortController());
    const started = performance.now();
    compare.classList.add("busy");
    try {
      if (!sourceSize && !(await loadBefore())) sourceSize = null;
      const response = await requestPreview(enabledOps(), controller.signal);
      if (controller !== inflight) return;
      if (!response.ok) {
        showError(await messageOf(response));
        return;
      }
      const blob = await response.blob();
      if (controller !== inflight) return;
      showImage(afterImg, blob);
      showError("");
      compare.classList.remove("empty", "failed");
      const h = response.headers;
      const full = `${h.get("X-Full-Width")}×${h.get("X-Full-Height")}`;
      const shown = `${h.get("X-Image-Width")}×${h.get("X-Image-Height")}`;
      const ms = performance.now() - started;
      afterCaption.textContent =
        `After · ${full}${shown === full ? "" : ` (shown at ${shown})`} · ${blob.type.replace("image/", "")}` +
        ` · ${ms.toFixed(0)} ms${h.get("X-Cache") === "hit" ? " (cache hit)" : ""}`;
      stage.dataset.previews = String(++previews);
    } catch (error) {
      if (error.name !== "AbortError") showError(`The preview could not be fetched: ${error.message}`);
    } finally {
      if (controller === inflight) {
        inflight = null;
        compare.classList.remove("busy");
      }
    }
  }

  function sourceChanged() {
    sourceSize = null;
    uploaded = null;
    if (cropping) endCrop();
    savedBox.hidden = true;
    conflictBox.hidden = true;
    suggestKey();
    schedulePreview(0);
  }
  let keyTimer = 0;
  keyInput.addEventListener("input", () => {
    clearTimeout(keyTimer);
    keyTimer = setTimeout(sourceChanged, 400);
  });
  keyInput.addEventListener("change", () => {
    clearTimeout(keyTimer);
    sourceChanged();
  });
  fileInput.addEventListener("change", sourceChanged);

  // ---------------------------------------------------------------- before / after divider
  function setSplit(percent) {
    const value = Math.max(0, Math.min(100, percent));
    split.value = String(value);
    stage.style.setProperty("--split", `${value}%`);
  }
  split.addEventListener("input", () => setSplit(Number(split.value)));
  stage.addEventListener("pointerdown", (event) => {
    if (cropping || event.button > 0) return;
    const place = (e) => {
      const r = stage.getBoundingClientRect();
      setSplit(((e.clientX - r.left) / r.width) * 100);
    };
    place(event);
    stage.setPointerCapture(event.pointerId);
    stage.addEventListener("pointermove", place);
    stage.addEventListener("pointerup", () => stage.removeEventListener("pointermove", place), { once: true });
  });

  // ---------------------------------------------------------------- crop drawing
  // The box is drawn on the image the crop step receives: the source when nothing comes before
  // it, else a preview of the steps before it. Coordinates are that image's real pixels.
  let cropping = null; // { id, width, height }

  function fitted() {
    // Where the image sits in the stage (object-fit: contain), in stage pixels.
    const s = stage.getBoundingClientRect();
    const scale = Math.min(s.width / cropping.width, s.height / cropping.height);
    const w = cropping.width * scale;
    const h = cropping.height * scale;
    return { left: (s.width - w) / 2, top: (s.height - h) / 2, scale, stage: s };
  }

  function cropValues(step, width, height) {
    const v = step.values;
    const x = Math.min(v.x ?? 0, width - 1);
    const y = Math.min(v.y ?? 0, height - 1);
    return { x, y, w: v.width ?? width - x, h: v.height ?? height - y };
  }

  function drawCropBox() {
    const step = steps.find((s) => s.id === cropping?.id);
    if (!step) return;
    const f = fitted();
    const { x, y, w, h } = cropValues(step, cropping.width, cropping.height);
    Object.assign(cropBox.style, {
      left: `${f.left + x * f.scale}px`,
      top: `${f.top + y * f.scale}px`,
      width: `${w * f.scale}px`,
      height: `${h * f.scale}px`,
    });
    cropBox.hidden = false;
  }

  async function startCrop(step) {
    if (!hasSource()) {
      showError("Choose an image first: the crop box is drawn on it.");
      return;
    }
    const index = steps.indexOf(step);
    const response = await requestPreview(enabledOps(index));
    if (!response.ok) {
      showError(await messageOf(response));
      return;
    }
    showImage(cropImg, await response.blob());
    cropping = { id: step.id, width: Number(response.headers.get("X-Full-Width")), height: Number(response.headers.get("X-Full-Height")) };
    compare.classList.add("cropping");
    await cropImg.decode().catch(() => {});
    drawCropBox();
    $("proc-crop-done").focus();
  }

  function endCrop() {
    cropping = null;
    compare.classList.remove("cropping");
    cropBox.hidden = true;
    cropImg.hidden = true;
  }
  $("proc-crop-done").addEventListener("click", endCrop);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && cropping) endCrop();
  });
  window.addEventListener("resize", () => cropping && drawCropBox());

  function writeCrop(step, box) {
    Object.assign(step.values, { x: box.x, y: box.y, width: box.w, height: box.h });
    const li = list.querySelector(`li[data-id="${step.id}"]`);
    for (const name of ["x", "y", "width", "height"]) {
      const input = li?.querySelector(`[data-role="p:${name}"]`);
      if (!input) continue;
      input.value = step.values[name];
      input.previousElementSibling.value = step.values[name];
      input.previousElementSibling.classList.remove("unset");
    }
    drawCropBox();
    schedulePreview();
  }

  // A box from two corners, held to the aspect (turned upright when drawn taller than wide).
  function boxBetween(a, b, ratio) {
    let w = Math.abs(b.x - a.x);
    let h = Math.abs(b.y - a.y);
    if (ratio) {
      const r = w >= h ? ratio : 1 / ratio;
      if (w / r > h) h = w / r;
      else w = h * r;
      const room = Math.min(1, (b.x < a.x ? a.x : cropping.width - a.x) / w, (b.y < a.y ? a.y : cropping.height - a.y) / h);
      w *= room;
      h *= room;
    }
    w = Math.max(1, Math.round(w));
    h = Math.max(1, Math.round(h));
    const x = Math.round(b.x < a.x ? a.x - w : a.x);
    const y = Math.round(b.y < a.y ? a.y - h : a.y);
    return { x: Math.max(0, x), y: Math.max(0, y), w: Math.min(w, cropping.width - Math.max(0, x)), h: Math.min(h, cropping.height - Math.max(0, y)) };
  }

  stage.addEventListener("pointerdown", (event) => {
    if (!cropping || event.button > 0) return;
    const step = steps.find((s) => s.id === cropping.id);
    if (!step) return;
    event.preventDefault();
    const f = fitted();
    const at = (e) => ({
      x: Math.max(0, Math.min(cropping.width, (e.clientX - f.stage.left - f.left) / f.scale)),
      y: Math.max(0, Math.min(cropping.height, (e.clientY - f.stage.top - f.top) / f.scale)),
    });
    const start = at(event);
    const ratio = ASPECTS[step.aspect] || 0;
    stage.setPointerCapture(event.pointerId);
    const drag = (e) => writeCrop(step, boxBetween(start, at(e), ratio));
    const done = (e) => {
      stage.removeEventListener("pointermove", drag);
      stage.removeEventListener("pointerup", done);
      const end = at(e);
      if (Math.abs(end.x - start.x) >= 2 && Math.abs(end.y - start.y) >= 2) writeCrop(step, boxBetween(start, end, ratio));
      commit();
    };
    stage.addEventListener("pointermove", drag);
    stage.addEventListener("pointerup", done);
  });

  // Choosing an aspect fits the current box to it (keeping its width when there is room).
  function fitAspect(step) {
    const ratio = ASPECTS[step.aspect];
    const size = cropping?.id === step.id ? [cropping.width, cropping.height] : steps.indexOf(step) === 0 ? sourceSize : null;
    if (!ratio || !size) return;
    const { x, y, w } = cropValues(step, ...size);
    let width = w;
    let height = Math.round(width / ratio);
    if (y + height > size[1]) {
      height = size[1] - y;
      width = Math.round(height * ratio);
    }
    Object.assign(step.values, { x, y, width: Math.max(1, width), height: Math.max(1, height) });
    renderSteps({ id: step.id, role: "aspect" });
    if (cropping) drawCropBox();
    schedulePreview();
  }

  // ---------------------------------------------------------------- save
  async function save(onConflict, key) {
    savedBox.hidden = true; // a failed save must not leave the last one's notice
    conflictBox.hidden = true;
    showError("", "save");
    const body = new FormData();
    const file = fileInput.files[0];
    const button = $("proc-save");
    try {
      if (file) await appendFile(body, file);
      else body.append("source_key", keyInput.value.trim());
    } catch (error) {
      showError(error.message, "save");
      bringIntoView(errorBox);
      return;
    }
    body.append("ops", JSON.stringify(enabledOps()));
    body.append("format", formatSelect.value);
    body.append("quality", qualityInput.value);
    body.append("save_as", key);
    body.append("on_conflict", onConflict);
    button.disabled = true;
    try {
      const response = await fetch(form.dataset.api, { method: "POST", body, headers: csrfHeaders() });
      if (response.status === 409) {
        const free = await freeKey(key);
        $("proc-conflict-key").textContent = key;
        $("proc-free-key").textContent = free;
        conflictBox.dataset.key = key;
        conflictBox.dataset.free = free;
        conflictBox.hidden = false;
        bringIntoView(conflictBox);
        $("proc-save-free").focus(); // the choice that loses nothing
        return;
      }
      if (!response.ok) {
        showError(await messageOf(response), "save");
        bringIntoView(errorBox);
        return;
      }
      const record = await response.json();
      const link = el("a", { href: `${form.dataset.browse}?key=${encodeURIComponent(record.key)}`, textContent: record.key });
      savedBox.replaceChildren(
        "Saved as ",
        link,
        ` · ${record.width}×${record.height} · ${kb(record.bytes)}`,
        record.replaced ? " (the image it replaced is kept in its history)." : ".",
      );
      savedBox.hidden = false;
      bringIntoView(savedBox);
      if (saveAs.value === key) {
        saveAs.value = saveAs.dataset.derived = ""; // the next save gets a fresh key again
        suggestKey();
      }
    } catch (error) {
      showError(`Saving failed: ${error.message}`, "save");
      bringIntoView(errorBox);
    } finally {
      button.disabled = false;
    }
  }

  form.addEventListener("submit", (event) => {
    const action = event.submitter ? event.submitter.value : "preview";
    event.preventDefault();
    if (action === "preview") runPreview().then(() => bringIntoView(errorBox.hidden ? compare : errorBox));
    else if (action === "save") save("fail", saveAs.value.trim());
    else if (action === "save-replace") save("replace", conflictBox.dataset.key);
    else if (action === "save-rename") {
      saveAs.value = conflictBox.dataset.free;
      suggestion++; // a suggestion still on its way must not replace the chosen key
      save("fail", conflictBox.dataset.free);
    }
  });

  // ---------------------------------------------------------------- start
  steps = initial.steps.map((s) => makeStep(s.op, s));
  committed = snapshot();
  renderSteps();
  setSplit(50);
  if (conflictBox.hidden === false) {
    conflictBox.dataset.key = $("proc-conflict-key").textContent;
    conflictBox.dataset.free = $("proc-free-key").textContent;
  }
  if (hasSource()) schedulePreview(0);
})();
