// Builds the web UI's assets once, at install time (`make install` runs
// `npm run build`), so the web service starts without a bundler:
//
//   build/web/dist/     the modules bundled and minified from js/main.js, split
//                       where a library loads on demand, and app.css minified;
//                       every name carries a content hash
//   build/web/vendor/   fonts, and each library as one ES module for the page's
//                       unbundled fallback (a stale build, see manifest below)
//   build/web/manifest.json  what the page loads, and a hash of every source
//                       file the bundle came from: the service serves the bundle
//                       only while those still match the files it has
//
// Text files get .gz and .br beside them, compressed once here at the highest
// levels rather than per request or per start-up. The build is written to a
// temporary directory and swapped in whole, so a service starting meanwhile
// reads either the old build or the new one.
//
// Usage: node services/web/build.mjs [--outdir DIR]

import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import * as esbuild from "esbuild";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "..", "..");
const STATIC = join(HERE, "memoai_web", "static");
const VENDOR = JSON.parse(readFileSync(join(HERE, "memoai_web", "vendor.json"), "utf8"));
const COMPRESSIBLE = /\.(js|css|svg|json)$/;

function option(name, fallback) {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1] : fallback;
}

const OUT = resolve(option("--outdir", join(ROOT, "build", "web")));

/** `…/vendor/marked.js` in the app's source is the npm package named in vendor.json. */
const vendorModules = {
  name: "vendor-modules",
  setup(build) {
    build.onResolve({ filter: /\/vendor\/[\w.-]+\.js$/ }, async (args) => {
      const name = args.path.split("/").at(-1);
      const pkg = VENDOR.modules[name];
      if (!pkg) return { errors: [{ text: `${name} is not in vendor.json "modules"` }] };
      const found = await build.resolve(pkg, { kind: args.kind, resolveDir: ROOT });
      return found.errors.length ? { errors: found.errors } : { path: found.path };
    });
  },
};

const common = {
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2022",
  charset: "utf8",
  legalComments: "eof", // the libraries' licence notices travel with their code
  logLevel: "warning",
  absWorkingDir: ROOT,
};

function sha256(path) {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

async function build(out) {
  const result = await esbuild.build({
    ...common,
    entryPoints: [
      { in: join(STATIC, "js", "main.js"), out: "app" },
      { in: join(STATIC, "css", "app.css"), out: "app" },
    ],
    outdir: join(out, "dist"),
    splitting: true,
    entryNames: "[name]-[hash]",
    chunkNames: "chunks/[name]-[hash]",
    // The stylesheet's fonts stay URLs: {static}/vendor/ is served beside dist/.
    external: ["../vendor/*"],
    plugins: [vendorModules],
    metafile: true,
  });

  const outputs = Object.entries(result.metafile.outputs);
  const entry = (suffix) => {
    const found = outputs.find(([path, meta]) => meta.entryPoint && path.endsWith(suffix));
    return relative(out, resolve(ROOT, found[0])).split(sep).join("/");
  };
  // Only the app's own files decide freshness; npm packages change with the lock file,
  // which reruns this build anyway.
  const inputs = {};
  for (const path of Object.keys(result.metafile.inputs)) {
    const absolute = resolve(ROOT, path);
    if (!absolute.startsWith(STATIC + sep)) continue;
    inputs[relative(STATIC, absolute).split(sep).join("/")] = sha256(absolute);
  }

  mkdirSync(join(out, "vendor"), { recursive: true });
  for (const [name, pkg] of Object.entries(VENDOR.modules)) {
    await esbuild.build({
      ...common,
      // `export *` leaves a default export behind (DOMPurify has only that one).
      stdin: {
        contents: VENDOR.default_export.includes(pkg)
          ? `export { default } from "${pkg}";\n`
          : `export * from "${pkg}";\n`,
        resolveDir: ROOT,
        loader: "js",
      },
      outfile: join(out, "vendor", name),
    });
  }
  for (const [name, file] of Object.entries(VENDOR.fonts)) {
    cpSync(join(ROOT, "node_modules", file), join(out, "vendor", name));
  }

  // Not compressed: the service reads it, browsers never do.
  writeFileSync(
    join(out, "manifest.json"),
    `${JSON.stringify({ script: entry(".js"), stylesheet: entry(".css"), inputs }, null, 2)}\n`,
  );
  for (const path of [...walk(join(out, "dist")), ...walk(join(out, "vendor"))]) {
    if (!COMPRESSIBLE.test(path)) continue;
    const body = readFileSync(path);
    writeFileSync(`${path}.gz`, gzipSync(body, { level: 9 }));
    writeFileSync(`${path}.br`, brotliCompressSync(body, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: body.length },
    }));
  }
}

const staging = `${OUT}.tmp-${process.pid}`;
rmSync(staging, { recursive: true, force: true });
try {
  await build(staging);
  const old = `${OUT}.old-${process.pid}`;
  if (existsSync(OUT)) renameSync(OUT, old);
  renameSync(staging, OUT);
  rmSync(old, { recursive: true, force: true });
} catch (error) {
  rmSync(staging, { recursive: true, force: true });
  console.error(`web build failed: ${error.message ?? error}`);
  process.exit(1);
}
console.log(`web assets built in ${relative(process.cwd(), OUT) || "."}`);
