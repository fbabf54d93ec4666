// The photo viewer: a PhotoSwipe lightbox over the gallery (or Browse) with keyboard, swipe, pinch
// and wheel zoom, full screen (`f`), an info panel (`i`), download, and the open photo named in the URL
// (#photo=<key>) so it can be shared and the back button closes it. It pages on with the query the
// page was built from (data-query: a search, filter, upload batch or album), so ←/→ stay inside
// that set. A heart (`h` or `l`) and "Add to album" act on the open photo. Without JavaScript the
// tiles stay links to Browse.
// Bytes: the display rendition first; zooming past it loads the large one (twice its size, made
// on demand); the original only when asked for ("Original", or a zoom far past the large one).
import PhotoSwipeLightbox from "./vendor/photoswipe/photoswipe-lightbox.esm.min.js";
import { registerOrganising } from "./organise.js";

const root = document.querySelector("[data-viewer]");
// Formats a browser draws: only these originals may stand in when zooming past the large rendition.
const DRAWABLE = new Set(["image/jpeg", "image/png", "image/webp", "image/gif", "image/avif"]);
const HASH = "#photo=";
// The original is fetched when the zoom draws the large rendition at this many times its own
// pixels (the user is asking for detail it does not have), or with the "Original" button.
const ORIGINAL_AFTER = 2;
const WIDE = matchMedia("(min-width: 701px)");

if (root) {
  const photos = [...root.querySelectorAll("[data-photo]")].map((link) => JSON.parse(link.dataset.photo));
  let next = root.dataset.nextCursor || null; // the cursor of the page after the ones loaded
  let loading = null;
  let pushed = false; // whether opening added a history entry (closing then goes back)

  // The large rendition (/large/<key>, made on demand at twice the display size): its width.
  function largeWidth(photo) {
    const displayLong = Math.max(photo.display_width, photo.display_height);
    const long = Math.max(photo.width, photo.height);
    return Math.round(photo.width * Math.min(1, (2 * displayLong) / long));
  }

  // One PhotoSwipe slide: sized as the original, so zoom levels mean the photo's own pixels; the
  // browser picks the display or the large rendition from srcset as the zoom needs, and the
  // original joins the candidates only when asked for (see wantOriginal).
  function slide(photo) {
    const item = {
      key: photo.key,
      photo,
      msrc: photo.thumb_url,
      src: photo.display_url || photo.url,
      width: photo.display_url ? photo.display_width : photo.width,
      height: photo.display_url ? photo.display_height : photo.height,
      alt: altText(photo),
    };
    if (photo.display_url && photo.width > photo.display_width) {
      // The API names it (the display rendition may be on the CDN; the large one is the app's).
      const large = photo.large_url || photo.display_url.replace(/\/display\//, "/large/"); // /s/<token>/display/...
      item.srcset = `${photo.display_url} ${photo.display_width}w, ${large} ${largeWidth(photo)}w`;
      item.width = photo.width;
      item.height = photo.height;
      item.canGrow = DRAWABLE.has(photo.content_type) && photo.width > largeWidth(photo);
    }
    return item;
  }

  // "Cat, dog, 14 July 2024": what the photo shows and when (as the gallery's tiles say it).
  function altText(photo) {
    const what = (photo.labels || []).slice(0, 3).join(", ") || "photo";
    const day = photo.taken_at ? new Date(photo.taken_at.slice(0, 10) + "T12:00:00Z") : new Date(photo.updated_at * 1000);
    const when = day.toLocaleDateString("en-GB", { day: "numeric", month: "long", year: "numeric", timeZone: photo.taken_at ? "UTC" : undefined });
    return `${what[0].toUpperCase()}${what.slice(1)}, ${when}`;
  }

  const items = photos.map(slide);

  // The next page through the API, when the viewer nears the last photo loaded.
  function loadMore(pswp) {
    if (!next || loading) return loading;
    const params = new URLSearchParams(root.dataset.query || "");
    params.set("cursor", next);
    params.set("limit", "48");
    loading = fetch(`${root.dataset.api}?${params}`, { headers: { Accept: "application/json" } })
      .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
      .then((page) => {
        next = page.next_cursor;
        const from = items.length;
        const known = new Set(items.map((item) => item.key)); // scrolling may have added them already
        items.push(...page.items.filter((photo) => !known.has(photo.key)).map(slide));
        for (let index = from; index < items.length; index++) pswp.refreshSlideContent(index);
      })
      .catch(() => {})
      .finally(() => (loading = null));
    return loading;
  }

  let infoOpen = false;
  let infoPanel = null;
  const lightbox = new PhotoSwipeLightbox({
    dataSource: items,
    pswpModule: () => import("./vendor/photoswipe/photoswipe.esm.min.js"),
    loop: false,
    bgOpacity: 1,
    wheelToZoom: true,
    secondaryZoomLevel: 1,
    maxZoomLevel: 4,
    preload: [1, 2],
    // The info panel takes its room from the photo's: beside it on wide screens, below it on phones.
    paddingFn: () => {
      if (!infoOpen || !infoPanel) return { top: 0, bottom: 0, left: 0, right: 0 };
      const box = infoPanel.getBoundingClientRect();
      return WIDE.matches ? { top: 0, bottom: 0, left: 0, right: box.width } : { top: 0, bottom: box.height, left: 0, right: 0 };
    },
  });

  // The original as a candidate of the slide's image: the browser then fetches it when the zoom
  // needs more pixels than the large rendition has (``only``: show it whatever the zoom).
  function wantOriginal(slide, only = false) {
    const item = slide.data;
    if (!item.canGrow || item.original === (only ? "only" : "candidate")) return;
    const original = `${item.photo.url} ${item.photo.width}w`;
    item.srcset = only ? original : `${item.srcset}, ${original}`;
    item.original = only ? "only" : "candidate";
    const image = slide.content && slide.content.element;
    if (image && image.tagName === "IMG") image.srcset = item.srcset;
  }

  function outgrown(slide) {
    const item = slide.data;
    if (!item.canGrow || item.original) return false;
    const drawn = slide.width * slide.currZoomLevel * devicePixelRatio; // device pixels across
    return drawn >= ORIGINAL_AFTER * largeWidth(item.photo);
  }

  function toggleFullscreen() {
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    else document.documentElement.requestFullscreen().catch(() => {});
  }

  // "Canon EOS R5", not "Canon Canon EOS R5": most cameras repeat their make in the model.
  function camera(exif) {
    const make = (exif.make || "").trim();
    const model = (exif.model || "").trim();
    const brand = make.split(/\s+/)[0].toLowerCase();
    if (model && brand && model.toLowerCase().startsWith(brand)) return model;
    return [make, model].filter(Boolean).join(" ");
  }

  const LOCAL = { dateStyle: "long", timeStyle: "short" };
  const ZONED = { ...LOCAL, timeStyle: "long" };

  // When it was taken, in the viewer's time zone where the camera wrote its offset (and the
  // photo's own time there too); the camera's clock as written where it did not.
  function takenRows(taken) {
    const offset = /([+-]\d\d:\d\d|Z)$/.exec(taken);
    const [date, time] = taken.split("T");
    if (!offset) {
      const wall = new Date(`${date}T${time || "00:00:00"}Z`);
      return [wall.toLocaleString(undefined, { ...LOCAL, timeZone: "UTC" }), "camera clock, time zone unknown"];
    }
    const moment = new Date(taken);
    const there = `${time.slice(0, 5)} ${offset[1] === "Z" ? "UTC" : `UTC${offset[1]}`}`;
    return [moment.toLocaleString(undefined, ZONED), `${there} where it was taken`];
  }

  function describe(photo) {
    const exif = photo.exif || {};
    const rows = [];
    if (photo.taken_at) rows.push(["Taken", ...takenRows(photo.taken_at)]);
    if (photo.updated_at) rows.push(["Uploaded", new Date(photo.updated_at * 1000).toLocaleString(undefined, ZONED)]);
    if (camera(exif)) rows.push(["Camera", camera(exif)]);
    if (exif.lens) rows.push(["Lens", exif.lens]);
    const exposure = [exif.exposure, exif.aperture, exif.iso && `ISO ${exif.iso}`, exif.focal_length];
    if (exposure.some(Boolean)) rows.push(["Exposure", exposure.filter(Boolean).join(" · ")]);
    if ((photo.labels || []).length) rows.push(["Labels", photo.labels.join(", ")]);
    rows.push(["Dimensions", `${photo.width} × ${photo.height} px`]);
    rows.push(["Key", photo.key]);
    return rows;
  }

  function fillInfo(panel, photo) {
    const list = document.createElement("dl");
    for (const [name, value, note] of describe(photo)) {
      list.append(Object.assign(document.createElement("dt"), { textContent: name }));
      const cell = Object.assign(document.createElement("dd"), { textContent: value });
      if (note) cell.append(Object.assign(document.createElement("small"), { textContent: note }));
      list.append(cell);
    }
    if (!root.dataset.browse) return panel.replaceChildren(list); // a shared page links nowhere else
    const browse = Object.assign(document.createElement("a"), {
      href: `${root.dataset.browse}?key=${encodeURIComponent(photo.key)}`,
      textContent: "Open in Browse",
    });
    panel.replaceChildren(list, browse);
  }

  lightbox.on("uiRegister", () => {
    const pswp = lightbox.pswp;
    // PhotoSwipe binds its keys and gestures once the opening animation ends ("bindEvents"): the
    // class says a key pressed now counts (a busy machine's animation takes longer than its 333 ms).
    pswp.on("bindEvents", () => pswp.element.classList.add("pswp--ready"));
    const toggleHeart = registerOrganising(pswp, root);
    let panel = null;
    const toggleInfo = () => {
      panel.hidden = !panel.hidden;
      infoOpen = !panel.hidden;
      pswp.element.classList.toggle("pswp--info", infoOpen);
      pswp.updateSize(true); // the photo moves out of the panel's way (paddingFn)
    };
    pswp.ui.registerElement({
      name: "info-panel",
      appendTo: "root",
      onInit: (element) => {
        panel = element;
        infoPanel = element;
        panel.hidden = !infoOpen;
        pswp.element.classList.toggle("pswp--info", infoOpen);
        panel.setAttribute("aria-label", "Photo information");
        pswp.on("change", () => fillInfo(panel, pswp.currSlide.data.photo));
      },
    });
    pswp.ui.registerElement({
      name: "info-button",
      title: "Information (i)",
      order: 9,
      isButton: true,
      html: '<svg class="pswp__icn" viewBox="0 0 32 32" width="32" height="32" aria-hidden="true"><path fill-rule="evenodd" d="M16 5a11 11 0 1 0 0 22 11 11 0 1 0 0-22zm0 2a9 9 0 1 1 0 18 9 9 0 1 1 0-18zM15 14h2v8h-2zM15 10h2v2h-2z"/></svg>',
      onClick: toggleInfo,
    });
    pswp.ui.registerElement({
      name: "original-button",
      title: "Show the original, at full resolution",
      order: 8,
      isButton: true,
      html: "Original",
      onInit: (element) => {
        const update = () => (element.hidden = !pswp.currSlide.data.canGrow || pswp.currSlide.data.original === "only");
        pswp.on("change", update);
        element.addEventListener("click", () => {
          wantOriginal(pswp.currSlide, true);
          update();
        });
      },
    });
    // Zooming far past the large rendition asks for the original (see ORIGINAL_AFTER).
    pswp.on("zoomPanUpdate", ({ slide }) => {
      if (slide === pswp.currSlide && outgrown(slide)) wantOriginal(slide);
    });
    pswp.ui.registerElement({
      name: "download-button",
      title: "Download the original",
      order: 8,
      isButton: true,
      tagName: "a",
      html: '<svg class="pswp__icn" viewBox="0 0 32 32" width="32" height="32" aria-hidden="true"><path d="M15 6h2v13l4-4 1.4 1.4L16 22.8l-6.4-6.4L11 15l4 4zM8 24h16v2H8z"/></svg>',
      onInit: (element) => {
        const update = () => {
          element.href = `${pswp.currSlide.data.photo.url}&download=1`;
          element.setAttribute("download", "");
        };
        pswp.on("change", update);
      },
    });
    if (document.fullscreenEnabled) {
      pswp.ui.registerElement({
        name: "fullscreen-button",
        title: "Full screen (f)",
        order: 7,
        isButton: true,
        html: '<svg class="pswp__icn" viewBox="0 0 32 32" width="32" height="32" aria-hidden="true"><path d="M7 7h7v2H9v5H7zM18 7h7v7h-2V9h-5zM7 18h2v5h5v2H7zM23 18h2v7h-7v-2h5z"/></svg>',
        onClick: toggleFullscreen,
      });
      pswp.on("close", () => document.fullscreenElement && document.exitFullscreen().catch(() => {}));
    }
    pswp.on("keydown", ({ originalEvent }) => {
      if (originalEvent.key === "f" && document.fullscreenEnabled) toggleFullscreen();
      if (originalEvent.key === "i" && !originalEvent.ctrlKey && !originalEvent.metaKey) toggleInfo();
      if ((originalEvent.key === "h" || originalEvent.key === "l") && !originalEvent.ctrlKey && !originalEvent.metaKey) {
        toggleHeart();
      }
    });
    pswp.on("change", () => {
      const key = pswp.currSlide.data.key;
      history.replaceState(history.state, "", HASH + encodeURIComponent(key));
      if (pswp.currIndex >= items.length - 3) loadMore(pswp);
    });
  });

  lightbox.on("close", () => {
    if (pushed) {
      pushed = false;
      history.back();
    } else if (location.hash.startsWith(HASH)) {
      history.replaceState(history.state, "", location.pathname + location.search);
    }
  });
  lightbox.init();

  function keyInHash() {
    return location.hash.startsWith(HASH) ? decodeURIComponent(location.hash.slice(HASH.length)) : null;
  }

  async function openKey(key, push) {
    let index = items.findIndex((item) => item.key === key);
    if (index < 0) {
      // A shared link to a photo not on this page: show it on its own.
      const response = await fetch(`${root.dataset.api}/${encodeURIComponent(key)}`);
      if (!response.ok) return;
      items.unshift(slide(await response.json()));
      index = 0;
      next = null; // the neighbours of a lone photo are not known
    }
    if (push) {
      history.pushState({ viewer: true }, "", HASH + encodeURIComponent(key));
      pushed = true;
    }
    lightbox.loadAndOpen(index);
  }

  // Tiles that endless scrolling added (timeline.js) join the slides, in their order, once each.
  root.addEventListener("gallery:tiles-added", () => {
    const known = new Set(items.map((item) => item.key));
    for (const link of root.querySelectorAll("a[data-photo]")) {
      const photo = JSON.parse(link.dataset.photo);
      if (!known.has(photo.key)) {
        items.push(slide(photo));
        known.add(photo.key);
      }
    }
    if (root.dataset.nextCursor !== undefined) next = root.dataset.nextCursor || null;
  });

  root.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-photo]");
    // (a handled click: grid.js ticks the photo in Select mode)
    if (!link || event.defaultPrevented || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    openKey(JSON.parse(link.dataset.photo).key, true);
  });

  // Back closes the viewer; forward (or a pasted link) opens it again.
  window.addEventListener("popstate", () => {
    const key = keyInHash();
    if (!key && lightbox.pswp) {
      pushed = false;
      lightbox.pswp.close();
    } else if (key && !lightbox.pswp) {
      openKey(key, false);
    }
  });

  const initial = keyInHash();
  if (initial) openKey(initial, false);
}
