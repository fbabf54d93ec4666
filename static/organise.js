// The viewer's organising buttons: a heart (favourite; the viewer binds `h` and `l` to the
// returned toggle) and an "Add to album" menu of the page's plain albums (data-albums), both
// through the JSON API with the page's CSRF token.

// Writes through the JSON API, with the page's CSRF token.
function send(method, url, body) {
  const token = document.querySelector('meta[name="csrf-token"]')?.content || "";
  const headers = { Accept: "application/json", "X-CSRFToken": token };
  if (body) headers["Content-Type"] = "application/json";
  return fetch(url, { method, headers, body: body && JSON.stringify(body) }).then((r) => (r.ok ? r.json() : Promise.reject(r.status)));
}

export function registerOrganising(pswp, root) {
  let heart = null;
  const showHeart = () => {
    const on = Boolean(pswp.currSlide.data.photo.favourite);
    heart.classList.toggle("is-favourite", on);
    heart.setAttribute("aria-pressed", String(on));
  };
  const toggleHeart = () => {
    const photo = pswp.currSlide.data.photo;
    const url = `${root.dataset.api}/${encodeURIComponent(photo.key).replaceAll("%2F", "/")}/favourite`;
    send(photo.favourite ? "DELETE" : "PUT", url)
      .then((record) => {
        photo.favourite = record.favourite;
        showHeart();
      })
      .catch(() => {});
  };
  pswp.ui.registerElement({
    name: "heart-button",
    title: "Favourite (h)",
    order: 6,
    isButton: true,
    html: '<svg class="pswp__icn" viewBox="0 0 32 32" width="32" height="32" aria-hidden="true"><path d="M16 27l-1.5-1.4C9 20.7 5.5 17.5 5.5 13.5 5.5 10.4 8 8 11 8c1.8 0 3.6.9 5 2.2C17.4 8.9 19.2 8 21 8c3 0 5.5 2.4 5.5 5.5 0 4-3.5 7.2-9 12.1z"/></svg>',
    onInit: (element) => {
      heart = element;
      pswp.on("change", showHeart);
    },
    onClick: toggleHeart,
  });
  const albums = JSON.parse(root.dataset.albums || "[]");
  if (albums.length) {
    pswp.ui.registerElement({
      name: "album",
      order: 5,
      isButton: false,
      appendTo: "bar",
      onInit: (element) => {
        const menu = document.createElement("select");
        menu.setAttribute("aria-label", "Add this photo to an album");
        menu.append(new Option("Add to album…", ""));
        for (const album of albums) menu.append(new Option(album.name, album.id));
        menu.addEventListener("change", () => {
          if (!menu.value) return;
          const key = pswp.currSlide.data.photo.key;
          send("POST", `${root.dataset.albumApi}/${menu.value}/images`, { keys: [key] })
            .then((album) => (menu.title = `Added to ${album.name}`))
            .catch(() => (menu.title = "Could not add it"))
            .finally(() => (menu.value = ""));
        });
        element.append(menu);
      },
    });
  }
  return toggleHeart;
}
