// Test-only (node --import): the page loads its libraries from {static}/vendor/<name>.js,
// which exists only in a build; resolve those URLs to the npm packages that
// services/web/memoai_web/vendor.json names, as services/web/build.mjs does.
import { register } from "node:module";

const root = new URL("../../../", import.meta.url);
const vendor = new URL("services/web/memoai_web/vendor.json", root);
const hooks = `
import { readFileSync } from "node:fs";
const modules = JSON.parse(readFileSync(new URL(${JSON.stringify(vendor.href)}), "utf8")).modules;
export async function resolve(specifier, context, next) {
  const match = /\\/vendor\\/([\\w.-]+\\.js)$/.exec(specifier);
  const pkg = match && modules[match[1]];
  return pkg ? next(pkg, { ...context, parentURL: ${JSON.stringify(root.href)} }) : next(specifier, context);
}
`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);
