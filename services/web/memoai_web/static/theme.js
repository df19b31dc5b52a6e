// The reader's theme choice (light, dark, system), remembered in this browser,
// put on <html> before the page is first drawn: a classic script in <head>,
// not a module, so the configured theme (UI_THEME) never flashes first.
// components/theme.js offers the choice and stores it.
try {
  const chosen = localStorage.getItem("memoai.theme");
  if (chosen === "light" || chosen === "dark" || chosen === "system") {
    document.documentElement.dataset.theme = chosen;
  }
} catch {
  // Storage disabled: the configured theme stands.
}
