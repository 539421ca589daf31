import { expect, Page } from '@playwright/test';
import { spawn, ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export const PASSWORD = 'Correct-horse-9';

export function uniqueEmail(): string {
  return `user-${Date.now()}-${Math.floor(Math.random() * 1e9)}@example.com`;
}

/** Fills and submits the signup form, then waits to land in the chat home, signed in. */
export async function signUp(page: Page, email: string, password = PASSWORD, displayName = 'Ada') {
  await page.goto('/signup');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Display name (optional)').fill(displayName);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByLabel('Confirm password').fill(password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/chat$/);
  await expect(page.getByRole('button', { name: 'Log out' })).toBeVisible();
}

export async function logIn(page: Page, email: string, password = PASSWORD) {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
}

const repoRoot = path.resolve(__dirname, '..', '..');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** A server of our own, for tests that restart it or need other settings than the shared one. */
export class OwnServer {
  private child?: ChildProcess;
  readonly dbFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'parley-own-')), 'parley.db');
  url = '';

  constructor(private readonly env: Record<string, string> = {}) {}

  async start(): Promise<void> {
    const port = await freePort();
    this.url = `http://127.0.0.1:${port}`;
    const binary = process.env.PARLEY_BIN ?? path.join(repoRoot, 'target', 'release', 'parley');
    this.child = spawn(binary, [], {
      cwd: repoRoot,
      stdio: 'ignore',
      env: {
        PATH: process.env.PATH ?? '',
        PARLEY_ENV: 'production',
        DATABASE_URL: `sqlite://${this.dbFile}`,
        LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
        LEPTOS_SITE_ROOT: path.join(repoRoot, 'target', 'site'),
        SESSION_SECRET: 'own-server-session-secret-0123456789abcdef',
        JWT_SECRET: 'own-server-jwt-secret-0123456789abcdef0123',
        RUST_LOG: 'warn',
        ...this.env,
      },
    });
    // Poll /health, bounded: 200 tries of 50 ms at most.
    for (let attempt = 0; attempt < 200; attempt++) {
      try {
        const response = await fetch(`${this.url}/health`);
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`server at ${this.url} did not become healthy`);
  }

  /** SIGTERM, then wait for the process to exit. */
  async stop(): Promise<number | null> {
    const child = this.child;
    if (!child || child.exitCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    return exited;
  }
}

/**
 * Holds back the WASM bundle until `release()` is called, so a test can act on the server-rendered page
 * before it hydrates, as a person on a slow connection does.
 */
export async function holdHydration(page: Page): Promise<{ release: () => void }> {
  let release = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  await page.route('**/pkg/*.wasm', async (route) => {
    await gate;
    await route.continue();
  });
  return { release };
}
