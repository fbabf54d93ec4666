// The photo viewer: a PhotoSwipe lightbox over the gallery (or Browse) with keyboard, swipe, pinch
// and wheel zoom, full screen (`f`), an info panel (`i`), download, and the open photo named in the URL
// (#photo=<key>) so it can be shared and the back button closes it. It pages on with the query the
// page was built from (data-query: a search, filter, upload batch or album), so ←/→ stay inside
// that set. A heart (`h` or `l`) and "Add to album" act on the open photo. Without JavaScript the
// tiles stay links to Browse.
import PhotoSwipeLightbox from "./vendor/photoswipe/photoswipe-lightbox.esm.min.js";
import { registerOrganising } from "./organise.js";

const root = document.querySelector("[data-viewer]");
// Formats a browser draws: only these originals may stand in when zooming past the display size.
const DRAWABLE = new Set(["image/jpeg", "image/png", "image/webp", "image/gif", "image/avif"]);
const HASH = "#photo=";

if (root) {
  const photos = [...root.querySelectorAll("[data-photo]")].map((link) => JSON.parse(link.dataset.photo));
  let next = root.dataset.nextCursor || null; // the cursor of the page after the ones loaded
  let loading = null;
  let pushed = false; // whether opening added a history entry (closing then goes back)

  // One PhotoSwipe slide: the display rendition at first, the original once zoomed past it.
  function slide(photo) {
    const item = {
      key: photo.key,
      photo,
      msrc: photo.thumb_url,
      src: photo.display_url || photo.url,
      width: photo.display_url ? photo.display_width : photo.width,
      height: photo.display_url ? photo.display_height : photo.height,
      alt: photo.key,
    };
    if (photo.display_url && DRAWABLE.has(photo.content_type) && photo.width > photo.display_width) {
      item.srcset = `${photo.display_url} ${photo.display_width}w, ${photo.url} ${photo.width}w`;
      item.width = photo.width;
      item.height = photo.height;
    }
    return item;
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
        items.push(...page.items.map(slide));
        for (let index = from; index < items.length; index++) pswp.refreshSlideContent(index);
      })
      .catch(() => {})
      .finally(() => (loading = null));
    return loading;
  }

  const lightbox = new PhotoSwipeLightbox({
    dataSource: items,
    pswpModule: () => import("./vendor/photoswipe/photoswipe.esm.min.js"),
    loop: false,
    bgOpacity: 1,
    wheelToZoom: true,
    secondaryZoomLevel: 1,
    maxZoomLevel: 4,
    preload: [1, 2],
  });

  function toggleFullscreen() {
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    else document.documentElement.requestFullscreen().catch(() => {});
  }

  function describe(photo) {
    const exif = photo.exif || {};
    const rows = [];
    if (photo.taken_at) rows.push(["Taken", photo.taken_at.replace("T", " ")]);
    const camera = [exif.make, exif.model].filter(Boolean).join(" ");
    if (camera) rows.push(["Camera", camera]);
    if (exif.lens) rows.push(["Lens", exif.lens]);
    const exposure = [exif.exposure, exif.aperture, exif.iso && `ISO ${exif.iso}`, exif.focal_length];
    if (exposure.some(Boolean)) rows.push(["Exposure", exposure.filter(Boolean).join(" · ")]);
    rows.push(["Dimensions", `${photo.width} × ${photo.height} px`]);
    rows.push(["Key", photo.key]);
    return rows;
  }

  function fillInfo(panel, photo) {
    const list = document.createElement("dl");
    for (const [name, value] of describe(photo)) {
      list.append(Object.assign(document.createElement("dt"), { textContent: name }));
      list.append(Object.assign(document.createElement("dd"), { textContent: value }));
    }
    const browse = Object.assign(document.createElement("a"), {
      href: `${root.dataset.browse}?key=${encodeURIComponent(photo.key)}`,
      textContent: "Open in Browse",
    });
    panel.replaceChildren(list, browse);
  }

  lightbox.on("uiRegister", () => {
    const pswp = lightbox.pswp;
    const toggleHeart = registerOrganising(pswp, root);
    let panel = null;
    const toggleInfo = () => {
      panel.hidden = !panel.hidden;
      pswp.element.classList.toggle("pswp--info", !panel.hidden);
    };
    pswp.ui.registerElement({
      name: "info-panel",
      appendTo: "root",
      onInit: (element) => {
        panel = element;
        panel.hidden = true;
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

  root.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-photo]");
    if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
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
