// Time from starting a navigation to the page being hydrated (the islands have taken over and <html> has
// data-hydrated), in real Chromium on loopback: the median and the worst of 20 loads of one page, the
// browser cache warm after the first (as for a person moving around the site).
//   node bench/hydration.mjs URL
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'end2end', 'package.json'));
const { chromium } = require('@playwright/test');

const url = process.argv[2];
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium' });
try {
  const page = await browser.newPage();
  await page.goto(url);
  await page.waitForSelector('html[data-hydrated]', { timeout: 10_000 });
  const times = [];
  for (let i = 0; i < 20; i++) {
    const started = performance.now();
    await page.goto(url);
    await page.waitForSelector('html[data-hydrated]', { timeout: 10_000 });
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({ median_ms: times[10], max_ms: times[19] }));
} finally {
  await browser.close();
}
