// DOM helpers. Text only ever goes in through textContent: user and model text
// is never parsed as HTML by the app's own code. The one place model text
// becomes markup is core/markdown.js, and only through the sanitiser.

/**
 * Create an element. `attrs` values are set as attributes (class via `class`);
 * children are nodes or strings (strings become text nodes).
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    node.setAttribute(name, value === true ? "" : String(value));
  }
  append(node, ...children);
  return node;
}

export function append(node, ...children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node) {
  node.replaceChildren();
  return node;
}

/** The element with data-slot=`name` inside `root`. */
export function slot(root, name) {
  return root.querySelector(`[data-slot="${name}"]`);
}

/** Smooth scrolling, unless the user asked for reduced motion. */
export function scrollBehavior() {
  return window.matchMedia("(prefers-reduced-motion: reduce)").matches ? "auto" : "smooth";
}

/** Show the child with data-state=`state` and hide its siblings (empty, loading, error, ready). */
export function showState(container, state) {
  for (const child of container.querySelectorAll(":scope > [data-state]")) {
    child.hidden = child.dataset.state !== state;
  }
  container.dataset.view = state;
}

/** Put an error view's message in place and wire its retry button once. */
export function showError(container, message, retry) {
  const view = container.querySelector(":scope > [data-state='error']");
  slot(view, "message").textContent = message;
  const button = view.querySelector("[data-retry]");
  button.onclick = retry;
  showState(container, "error");
}
