// Info bubbles open on hover and keyboard focus (CSS); Escape closes the open
// one without moving focus (WCAG 1.4.13), until the pointer or focus leaves.

export function setupTooltips() {
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    for (const info of document.querySelectorAll(".info:hover, .info:focus-within")) {
      info.classList.add("dismissed");
    }
  });
  const reset = (event) => event.target.closest?.(".info")?.classList.remove("dismissed");
  document.addEventListener("mouseout", reset);
  document.addEventListener("focusout", reset);
}
