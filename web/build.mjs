// web/build.mjs — bundles the dashboard (make web): src/app.js with xterm.js
// and its fit addon into dist/assets/app.js, the styles (xterm's and ours)
// into dist/assets/app.css, and copies the page.  Everything comes from
// node_modules (pinned by package-lock.json): nothing is fetched here, and
// the page loads nothing but these files.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';

const out = process.argv[2] || 'dist';
rmSync(out, { recursive: true, force: true });
mkdirSync(`${out}/assets`, { recursive: true });
const common = { bundle: true, minify: true, logLevel: 'warning', legalComments: 'eof' };
await build({ ...common, entryPoints: ['src/app.js'], outfile: `${out}/assets/app.js`,
  format: 'iife', target: ['es2020'] });
await build({ ...common, entryPoints: ['src/app.css'], outfile: `${out}/assets/app.css` });
copyFileSync('src/index.html', `${out}/index.html`);
