// Selecting gallery photos: shift-click ranges, Ctrl/⌘+A, and a selection that survives paging
// (kept in sessionStorage and posted with the selection form). Without JavaScript the checkboxes
// still post the photos ticked on this page.
"use strict";

(() => {
  const form = document.getElementById("selection");
  if (!form) return;
  const STORE = "gallery-selection";
  const boxes = [...document.querySelectorAll('input[name="keys"][form="selection"]')];
  const wire = (box) => {
    box.checked = selected.has(box.value);
    box.addEventListener("click", (event) => {
      const index = boxes.indexOf(box);
      if (event.shiftKey && last !== null) {
        const [from, to] = [Math.min(last, index), Math.max(last, index)];
        for (const other of boxes.slice(from, to + 1)) set(other, box.checked);
      } else {
        set(box, box.checked);
      }
      last = index;
      save();
    });
  };
  const count = document.getElementById("selection-count");
  const clear = document.getElementById("selection-clear");
  const max = Number(form.dataset.max) || 1000;
  const hint = count.textContent; // the page's own words: the same text keeps the layout still
  let selected = new Set(JSON.parse(sessionStorage.getItem(STORE) || "[]"));
  let last = null;

  function save() {
    sessionStorage.setItem(STORE, JSON.stringify([...selected]));
    const here = boxes.filter((box) => box.checked).length;
    const elsewhere = selected.size - here;
    count.textContent = selected.size
      ? `${selected.size} selected` + (elsewhere > 0 ? ` (${elsewhere} on other pages)` : "")
      : hint;
    clear.hidden = selected.size === 0;
  }

  function set(box, on) {
    box.checked = on;
    if (on) selected.add(box.value);
    else selected.delete(box.value);
  }

  boxes.forEach(wire);
  // timeline.js appends the next pages' tiles: their boxes join the selection.
  document.addEventListener("gallery:tiles-added", () => {
    for (const box of document.querySelectorAll('input[name="keys"][form="selection"]')) {
      if (!boxes.includes(box)) {
        boxes.push(box);
        wire(box);
      }
    }
    save();
  });

  document.addEventListener("keydown", (event) => {
    const typing = event.target.closest("input:not([type=checkbox]), textarea, select, [contenteditable]");
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "a" && !typing) {
      event.preventDefault();
      const all = boxes.every((box) => box.checked);
      for (const box of boxes) set(box, !all);
      save();
    } else if (event.key === "Escape" && selected.size && !typing) {
      clear.click();
    }
  });

  clear.addEventListener("click", () => {
    selected = new Set();
    for (const box of boxes) box.checked = false;
    save();
  });

  form.addEventListener("submit", (event) => {
    const action = event.submitter ? event.submitter.value : "";
    if (!selected.size) {
      event.preventDefault();
      count.textContent = "Select at least one photo first.";
      return;
    }
    if (selected.size > max) {
      event.preventDefault();
      count.textContent = `At most ${max} photos at once; ${selected.size} are selected.`;
      return;
    }
    if (action === "trash" && !window.confirm(`Move ${selected.size} photo(s) to the trash?`)) {
      event.preventDefault();
      return;
    }
    // Photos ticked on other pages travel as hidden fields; those on this page as their checkboxes.
    form.querySelectorAll("input[data-kept]").forEach((input) => input.remove());
    const here = new Set(boxes.map((box) => box.value));
    for (const key of selected) {
      if (here.has(key)) continue;
      form.append(Object.assign(document.createElement("input"), { type: "hidden", name: "keys", value: key }));
      form.lastElementChild.dataset.kept = "1";
    }
    if (action === "trash" || action === "album") sessionStorage.removeItem(STORE);
  });

  save();
})();
