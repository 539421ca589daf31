import { defineConfig, devices } from '@playwright/test';
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { spawnSync } from 'node:child_process';

// The suite drives the real release binary (built by `./dev.sh test`) on a loopback port, with a fresh
// SQLite file for every run, in Debian's Chromium (Playwright's own browser download cannot work here).
const port = Number(process.env.PARLEY_E2E_PORT ?? 3197);
const baseURL = `http://127.0.0.1:${port}`;
const repoRoot = path.resolve(__dirname, '..');
const binary = process.env.PARLEY_BIN ?? path.join(repoRoot, 'target', 'release', 'parley');
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-e2e-'));
// The config is evaluated by the runner and again by each worker: the outbox is named once, for all.
const sharedOutbox = (process.env.PARLEY_E2E_OUTBOX ??= path.join(dataDir, 'outbox'));
// With PARLEY_E2E_POSTGRES_URL (the test PostgreSQL's admin URL, set by `./dev.sh test` in its second
// pass) the shared server runs on a fresh PostgreSQL database instead, and the multi-instance tests run.
const postgresAdmin = process.env.PARLEY_E2E_POSTGRES_URL;
function sharedDatabaseUrl(): string {
  if (!postgresAdmin) return `sqlite://${path.join(dataDir, 'parley-e2e.db')}`;
  // The config is evaluated by the runner and again by each worker: one database per run, named once.
  const name = (process.env.PARLEY_E2E_DB_NAME ??= `parley_e2e_${Date.now()}`);
  spawnSync('psql', [postgresAdmin, '-qc', `CREATE DATABASE ${name}`], { encoding: 'utf8' });
  return postgresAdmin.replace(/\/[^/]*$/, `/${name}`);
}

export default defineConfig({
  testDir: './tests',
  // Several instances on one database are a PostgreSQL deployment: those tests run in the PostgreSQL pass.
  testIgnore: postgresAdmin ? [] : ['**/scale.spec.ts'],
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: true,
  forbidOnly: !!process.env.CI,
  retries: 0,
  workers: process.env.CI ? 2 : undefined,
  reporter: [['list']],
  use: {
    baseURL,
    trace: 'retain-on-failure',
  },
  projects: [
    {
      name: 'chromium',
      use: {
        ...devices['Desktop Chrome'],
        launchOptions: {
          executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
          args: [
            '--no-sandbox',
            '--disable-gpu',
            '--disable-dev-shm-usage',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
            '--no-first-run',
            '--disable-quic',
          ],
        },
      },
    },
  ],
  webServer: {
    command: binary,
    cwd: repoRoot,
    url: `${baseURL}/health`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'ignore',
    stderr: 'pipe',
    env: {
      PARLEY_ENV: 'production',
      DATABASE_URL: sharedDatabaseUrl(),
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
      LEPTOS_SITE_ROOT: path.join(repoRoot, 'target', 'site'),
      SESSION_SECRET: 'e2e-session-secret-0123456789abcdef0123',
      JWT_SECRET: 'e2e-jwt-secret-0123456789abcdef0123456789',
      // Conversations are sealed at rest in the browser tests too (a test key, not a secret).
      PARLEY_ENCRYPTION_KEYS: 'cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=',
      PARLEY_SEARCH_KEY: 'e2e-search-key-0123456789abcdef0123456789',
      // Mail goes to files that the tests read (see support.ts, `mailTo`).
      PARLEY_MAIL_FROM: 'Parley <noreply@parley.test>',
      PARLEY_MAIL_OUTBOX: sharedOutbox,
      RUST_LOG: 'warn',
      // Every test logs in from 127.0.0.1; the limits themselves are tested with servers of their own.
      PARLEY_RATE_LIMIT_AUTH_PER_IP: '100000',
      PARLEY_RATE_LIMIT_LOGIN_FAILURES: '100000',
      // Slow enough that a reply visibly streams (and can be stopped), fast enough for the suite.
      PARLEY_DEMO_CHUNK_DELAY_MS: '15',
    },
  },
});
