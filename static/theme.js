// Loaded in <head> without defer so the remembered light/dark choice applies before the first
// paint (no flash). Without a choice the page follows prefers-color-scheme.
try {
  const theme = localStorage.getItem("theme");
  if (theme === "dark" || theme === "light") document.documentElement.classList.add(theme);
} catch (_) {
  /* storage blocked: follow the system */
}
