// The theme switch in the footer: light, dark, or the device's preference.
// The choice is remembered in localStorage; static/theme.js applies it on the
// next page load before anything is drawn.

const KEY = "memoai.theme";

function showChoice(theme) {
  for (const button of document.querySelectorAll("[data-theme-choice]")) {
    button.setAttribute("aria-pressed", String(button.dataset.themeChoice === theme));
  }
}

export function setupTheme() {
  showChoice(document.documentElement.dataset.theme);
  for (const button of document.querySelectorAll("[data-theme-choice]")) {
    button.addEventListener("click", () => {
      const theme = button.dataset.themeChoice;
      document.documentElement.dataset.theme = theme;
      try {
        localStorage.setItem(KEY, theme);
      } catch {
        // Storage disabled: the choice lasts for this page only.
      }
      showChoice(theme);
    });
  }
}
