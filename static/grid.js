// Justified gallery rows: each tile grows in proportion to its photo's aspect ratio, so a row
// of landscapes and portraits shares one height and fills the width without gaps. The numbers
// come from data attributes and go in through CSSOM (the CSP allows no inline style); without
// this script the CSS draws equal cropped tiles.
"use strict";

for (const tile of document.querySelectorAll(".justified .tile[data-ratio]")) {
  const ratio = Math.min(Math.max(Number(tile.dataset.ratio) || 1, 0.4), 3); // panoramas stay usable
  tile.style.setProperty("--ratio", String(ratio));
}
