// The gallery in the date-taken order as one endless timeline. Without scripts the page is one
// page with an "Older »" link and a scrubber of plain links; this adds:
// - the next page loaded as the "Older »" link nears the screen (it stays for keyboards and as
//   the fallback), its tiles shaped from that page's style block (set through the CSSOM, which
//   the page's Content-Security-Policy allows);
// - the address keeping the place: the month in view (?month=), or with filters the page it
//   came from (?cursor=), replaced as you scroll, so a reload or Back comes back there;
// - arrow keys in the scrubber (one Tab stop), and the month in view marked in it.
"use strict";

(() => {
  const grid = document.getElementById("gallery-grid");
  if (!grid || grid.dataset.sort !== "taken") return;
  const pager = document.getElementById("pager");
  const scrubber = document.getElementById("scrubber");
  const count = document.getElementById("photo-count");
  const status = document.createElement("p");
  status.className = "timeline-more";
  status.setAttribute("role", "status");
  pager.before(status);

  const start = new URL(location.href);
  const filtered = ["q", "prefix", "label", "batch"].some((name) => start.searchParams.get(name));
  const firstPage = !start.searchParams.get("cursor") && !start.searchParams.get("month");
  // Where each loaded page starts in the grid, with its own address.
  const pages = [{ url: start.href, first: grid.firstElementChild }];
  let pageNumber = 1;
  let loading = false;

  const nextLink = () => pager.querySelector('a[rel="next"]');
  const links = scrubber ? [...scrubber.querySelectorAll("a[data-month]")] : [];
  let current = links.find((a) => a.getAttribute("aria-current")) || links[0];
  links.forEach((a) => (a.tabIndex = a === current ? 0 : -1));

  // A fetched page, less its <style> block (parsing it would break this page's policy), and that
  // block's "#tile-3{--ratio:1.5000;--color:#aabbcc}" rules by tile id.
  function parse(html) {
    const rules = new Map();
    const styles = /<style>([^<]*)<\/style>/g;
    for (const [, css] of html.matchAll(styles)) {
      for (const [, id, body] of css.matchAll(/#(tile-\d+)\{([^}]*)\}/g)) rules.set(id, body);
    }
    return { doc: new DOMParser().parseFromString(html.replace(styles, ""), "text/html"), rules };
  }

  function adopt(tile, rules) {
    const body = rules.get(tile.id) || "";
    tile.id = `p${pageNumber}-${tile.id}`; // ids stay unique across pages
    for (const declaration of body.split(";")) {
      const [name, value] = declaration.split(":");
      if (/^--(ratio|color)$/.test(name) && value) tile.style.setProperty(name, value);
    }
  }

  function append(doc, rules, url) {
    const incoming = doc.getElementById("gallery-grid");
    if (!incoming) return 0;
    const tiles = [...incoming.querySelectorAll("li.tile")];
    tiles.forEach((tile) => adopt(tile, rules));
    let first = null;
    let lastList = grid.querySelector("ul.grid:last-of-type");
    let skipHeading = false;
    for (const node of [...incoming.children]) {
      if (node.matches("h2.timeline-heading")) {
        // The month goes on from the previous page: no second heading, its tiles join the list.
        skipHeading = Boolean(document.getElementById(node.id));
        if (!skipHeading) {
          grid.append(node);
          first = first || node;
        }
      } else if (node.matches("ul.grid")) {
        if (skipHeading && lastList) {
          first = first || node.firstElementChild;
          lastList.append(...node.children);
        } else {
          grid.append(node);
          first = first || node;
          lastList = node;
        }
        skipHeading = false;
      }
    }
    if (first) pages.push({ url, first });
    // The viewer pages on from where the loaded page ends, not from the first page's cursor.
    const viewer = document.querySelector("[data-viewer]");
    const loaded = doc.querySelector("[data-viewer]");
    if (viewer && loaded) viewer.dataset.nextCursor = loaded.dataset.nextCursor || "";
    grid.dispatchEvent(new CustomEvent("gallery:tiles-added", { bubbles: true }));
    return tiles.length;
  }

  function updateCount(added, more) {
    if (!count || count.dataset.shown === undefined) return;
    const shown = Number(count.dataset.shown) + added;
    count.dataset.shown = String(shown);
    const n = shown.toLocaleString("en-US");
    // From the first page to the end: every match is on screen, so the count is exact.
    count.textContent = !more && firstPage ? `${n} of ${count.dataset.photos}` : `${count.dataset.photos} · ${n}${more ? "+" : ""} shown`;
  }

  async function loadNext() {
    const link = nextLink();
    if (!link || loading) return;
    loading = true;
    status.textContent = "Loading older photos…";
    try {
      const response = await fetch(link.href, { headers: { Accept: "text/html" } });
      if (!response.ok) throw new Error(String(response.status));
      const { doc, rules } = parse(await response.text());
      pageNumber += 1;
      const added = append(doc, rules, link.href);
      const following = doc.querySelector('#pager a[rel="next"]');
      if (following) link.href = following.href;
      else link.remove();
      updateCount(added, Boolean(following));
      status.textContent = following ? "" : "That is every photo.";
    } catch {
      status.textContent = "Could not load more photos; use the Older link.";
      observer.disconnect();
    } finally {
      loading = false;
    }
    // A short page may leave the link on screen: the observer does not fire again for it.
    const again = nextLink();
    if (again && again.getBoundingClientRect().top < innerHeight + 1200) loadNext();
  }

  const observer = new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && loadNext(), {
    rootMargin: "0px 0px 1200px 0px",
  });
  if (nextLink()) observer.observe(pager);

  // -- the place in the address ------------------------------------------------------------------
  const headings = () => [...grid.querySelectorAll("h2.timeline-heading")];
  const above = (element) => element.getBoundingClientRect().top <= 120;

  function place() {
    const inView = headings().filter(above).pop();
    const month = inView ? inView.id.replace(/^t-/, "") : null;
    let url = start.href;
    if (!filtered && month && !(firstPage && inView === headings()[0])) {
      url = new URL(location.pathname, location.origin);
      url.searchParams.set("sort", "taken");
      url.searchParams.set("month", month);
      url = url.href;
    } else if (filtered) {
      const page = pages.filter((p) => p.first.isConnected && above(p.first)).pop();
      if (page) url = page.url;
    }
    if (url !== location.href.split("#")[0]) history.replaceState(history.state, "", url);
    mark(month);
  }

  let queued = false;
  addEventListener("scroll", () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      place();
    });
  }, { passive: true });

  // -- the scrubber ------------------------------------------------------------------------------
  function mark(month) {
    const link = month && links.find((a) => a.dataset.month === month);
    if (!link || link === current) return;
    links.forEach((a) => a.removeAttribute("aria-current"));
    link.setAttribute("aria-current", "true");
    current.tabIndex = -1;
    current = link;
    current.tabIndex = 0;
    if (!scrubber.contains(document.activeElement)) link.scrollIntoView({ block: "nearest", inline: "nearest" });
  }

  if (scrubber) scrubber.addEventListener("keydown", (event) => {
    const index = links.indexOf(event.target);
    if (index < 0) return;
    const moves = { ArrowDown: index + 1, ArrowRight: index + 1, ArrowUp: index - 1, ArrowLeft: index - 1, Home: 0, End: links.length - 1 };
    const to = links[moves[event.key]];
    if (moves[event.key] === undefined || !to) return;
    event.preventDefault();
    event.target.tabIndex = -1;
    to.tabIndex = 0;
    to.focus();
  });
})();
