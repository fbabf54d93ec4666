// The gallery grid from the keyboard and on touch screens. The layout needs no script (the page's
// <style> block shapes the tiles); this adds:
// - one Tab stop for the whole grid (roving tabindex): arrow keys move between photos, Home/End
//   to the first and last, Enter opens, Space ticks the photo, Delete moves it to the trash;
// - Select mode on phones (the "Select" toggle, or a long press on a photo): a tap then ticks the
//   photo instead of opening it.
"use strict";

(() => {
  const grid = document.getElementById("gallery-grid");
  if (!grid) return;
  let links = [...grid.querySelectorAll("a.tile-photo")];
  const selectMode = document.getElementById("select-mode");
  const LONG_PRESS_MS = 500;
  if (!links.length) return;

  const tileOf = (link) => link.closest(".tile");
  const boxOf = (link) => tileOf(link).querySelector('input[name="keys"]');

  // Only the current photo is a Tab stop; the controls inside tiles are reached by keys instead.
  const untab = () => {
    for (const control of grid.querySelectorAll(".tile a, .tile input, .tile button")) if (control !== current) control.tabIndex = -1;
  };
  let current = null;
  untab();
  current = links[0];
  current.tabIndex = 0;

  function moveTo(link) {
    if (!link) return;
    current.tabIndex = -1;
    current = link;
    current.tabIndex = 0;
    current.focus();
  }

  // The photo in the row above or below whose middle is nearest this one's (rows are read from
  // the layout, so this follows the justified rows whatever the screen width).
  function vertical(from, direction) {
    const here = from.getBoundingClientRect();
    const middle = here.left + here.width / 2;
    const rows = links
      .map((link) => ({ link, box: link.getBoundingClientRect() }))
      .filter(({ box }) => (direction > 0 ? box.top >= here.bottom - 1 : box.bottom <= here.top + 1));
    if (!rows.length) return null;
    const rowTop = direction > 0 ? Math.min(...rows.map((r) => r.box.top)) : Math.max(...rows.map((r) => r.box.top));
    const row = rows.filter((r) => Math.abs(r.box.top - rowTop) < 2);
    const distance = (r) => Math.abs(r.box.left + r.box.width / 2 - middle);
    return row.reduce((best, r) => (distance(r) < distance(best) ? r : best)).link;
  }

  grid.addEventListener("focusin", (event) => {
    const link = event.target.closest("a.tile-photo");
    if (link && link !== current) moveTo(link);
  });

  grid.addEventListener("keydown", (event) => {
    const link = event.target.closest("a.tile-photo");
    if (!link || event.altKey || event.ctrlKey || event.metaKey) return;
    const index = links.indexOf(link);
    const moves = {
      ArrowRight: () => links[index + 1],
      ArrowLeft: () => links[index - 1],
      ArrowDown: () => vertical(link, 1),
      ArrowUp: () => vertical(link, -1),
      Home: () => links[0],
      End: () => links[links.length - 1],
    };
    if (moves[event.key]) {
      event.preventDefault();
      moveTo(moves[event.key]());
    } else if (event.key === " " && !event.shiftKey) {
      event.preventDefault();
      boxOf(link).click(); // select.js keeps the count and the selection across pages
    } else if (event.key === "Delete") {
      event.preventDefault();
      const form = tileOf(link).querySelector("form.tile-trash");
      if (form) form.requestSubmit(); // app.js asks first (data-confirm)
    }
  });

  // Select mode: a tap ticks instead of opening (the viewer sees the click was handled).
  const selecting = () => Boolean(selectMode && selectMode.checked);
  let pressed = false; // a long press just ticked this photo: swallow the click that ends it
  const adopt = (link) => {
    link.addEventListener("click", (event) => {
      if (pressed || selecting()) {
        event.preventDefault();
        if (!pressed) boxOf(link).click();
        pressed = false;
      }
    });
    link.addEventListener("contextmenu", (event) => {
      if (pressed || selecting()) event.preventDefault(); // no link menu over a long press
    });
  };
  links.forEach(adopt);
  // timeline.js appends the next pages' tiles: they join the keys and the taps.
  grid.addEventListener("gallery:tiles-added", () => {
    const added = [...grid.querySelectorAll("a.tile-photo")].filter((link) => !links.includes(link));
    links = [...grid.querySelectorAll("a.tile-photo")];
    added.forEach(adopt);
    untab();
  });

  let timer = null;
  let start = null;
  grid.addEventListener("pointerdown", (event) => {
    const link = event.target.closest("a.tile-photo");
    if (!link || event.pointerType !== "touch") return;
    start = { x: event.clientX, y: event.clientY };
    pressed = false;
    clearTimeout(timer);
    timer = setTimeout(() => {
      pressed = true;
      if (selectMode && !selectMode.checked) selectMode.checked = true;
      const box = boxOf(link);
      if (!box.checked) box.click();
      if (navigator.vibrate) navigator.vibrate(20);
    }, LONG_PRESS_MS);
  });
  const cancel = () => clearTimeout(timer);
  grid.addEventListener("pointermove", (event) => {
    if (start && Math.hypot(event.clientX - start.x, event.clientY - start.y) > 10) cancel(); // a scroll
  });
  grid.addEventListener("pointerup", cancel);
  grid.addEventListener("pointercancel", cancel);
})();
