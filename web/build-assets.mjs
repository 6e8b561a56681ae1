// Copies the front-end libraries Tandem serves from node_modules into web/static/vendor (never committed).
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const vendor = join(root, "web", "static", "vendor");
mkdirSync(vendor, { recursive: true });
const files = [["htmx.org/dist/htmx.min.js", "htmx.min.js"]];
for (const [from, to] of files) {
  copyFileSync(join(root, "node_modules", from), join(vendor, to));
  console.log(`web/static/vendor/${to} <- node_modules/${from}`);
}
