import { expect, Page } from '@playwright/test';
import { spawn, spawnSync, ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export const PASSWORD = 'Correct-horse-9';

export function uniqueEmail(): string {
  return `user-${Date.now()}-${Math.floor(Math.random() * 1e9)}@example.com`;
}

/** Fills and submits the signup form, then waits to land in the chat home, signed in. */
export async function signUp(page: Page, email: string, password = PASSWORD, displayName = 'Ada', base = '') {
  await page.goto(`${base}/signup`);
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

/**
 * A fresh, empty database for one server: a new database on the test PostgreSQL when
 * PARLEY_E2E_POSTGRES_URL names one (`./dev.sh test` does, in its second browser pass), else a SQLite file.
 */
export function freshDatabaseUrl(): string {
  const admin = process.env.PARLEY_E2E_POSTGRES_URL;
  if (!admin) return `sqlite://${path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'parley-own-')), 'parley.db')}`;
  const name = `parley_e2e_${Date.now()}_${Math.floor(Math.random() * 1e9)}`;
  const created = spawnSync('psql', [admin, '-v', 'ON_ERROR_STOP=1', '-qc', `CREATE DATABASE ${name}`], { encoding: 'utf8' });
  if (created.status !== 0) throw new Error(`could not create a test database: ${created.stderr}`);
  return admin.replace(/\/[^/]*$/, `/${name}`);
}

export const usingPostgres = !!process.env.PARLEY_E2E_POSTGRES_URL;

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
  url = '';
  port = 0;

  /** `databaseUrl`: share another server's database (two instances of one deployment). */
  constructor(
    private readonly env: Record<string, string> = {},
    readonly databaseUrl: string = freshDatabaseUrl(),
  ) {}

  async start(): Promise<void> {
    const port = this.port || (await freePort());
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
    const binary = process.env.PARLEY_BIN ?? path.join(repoRoot, 'target', 'release', 'parley');
    this.child = spawn(binary, [], {
      cwd: repoRoot,
      stdio: 'ignore',
      env: {
        PATH: process.env.PATH ?? '',
        PARLEY_ENV: 'production',
        DATABASE_URL: this.databaseUrl,
        LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
        LEPTOS_SITE_ROOT: path.join(repoRoot, 'target', 'site'),
        SESSION_SECRET: 'own-server-session-secret-0123456789abcdef',
        JWT_SECRET: 'own-server-jwt-secret-0123456789abcdef0123',
        // The same keys as the shared server (playwright.config.ts): instances of one deployment share them.
        PARLEY_ENCRYPTION_KEYS: 'cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=',
        PARLEY_SEARCH_KEY: 'e2e-search-key-0123456789abcdef0123456789',
        PARLEY_MAIL_FROM: 'Parley <noreply@parley.test>',
        PARLEY_MAIL_OUTBOX: fs.mkdtempSync(path.join(os.tmpdir(), 'parley-own-outbox-')),
        RUST_LOG: 'warn',
        PARLEY_DEMO_CHUNK_DELAY_MS: '15',
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

/** `count` ports on 127.0.0.1 that nothing listens on right now. */
export async function freePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = await freePort();
    if (!ports.includes(port)) ports.push(port);
  }
  return ports;
}

/**
 * A private nginx (Debian's package) running the shipped `deploy/nginx.conf`, its upstream pointed at the
 * given instances and its listener at a loopback port. Never the system service.
 */
export class Nginx {
  private child?: ChildProcess;
  url = '';
  private readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-nginx-'));

  constructor(private readonly upstreams: string[]) {}

  async start(): Promise<void> {
    const [port] = await freePorts(1);
    this.url = `http://127.0.0.1:${port}`;
    const site = fs
      .readFileSync(path.join(repoRoot, 'deploy', 'nginx.conf'), 'utf8')
      .replace(/^\s*server 127\.0\.0\.1:\d+ (.*);$/gm, '')
      .replace(/upstream parley \{/, `upstream parley {\n${this.upstreams.map((u) => `    server ${u} max_fails=3 fail_timeout=10s;`).join('\n')}`)
      .replace(/listen 80;/, `listen 127.0.0.1:${port};`)
      // Tests only: name the instance that answered, so a test can tell the two apart.
      .replace(/location \/ \{/, 'location / {\n        add_header X-Parley-Upstream $upstream_addr always;')
      .replace(/listen \[::\]:80;/, '');
    fs.writeFileSync(path.join(this.dir, 'parley.conf'), site);
    const temp = (name: string) => path.join(this.dir, name);
    fs.writeFileSync(
      path.join(this.dir, 'nginx.conf'),
      [
        `pid ${temp('nginx.pid')};`,
        `error_log ${temp('error.log')} warn;`,
        'worker_processes 1;',
        'events { worker_connections 256; }',
        'http {',
        `  access_log off;`,
        `  client_body_temp_path ${temp('client')};`,
        `  proxy_temp_path ${temp('proxy')};`,
        `  fastcgi_temp_path ${temp('fastcgi')};`,
        `  uwsgi_temp_path ${temp('uwsgi')};`,
        `  scgi_temp_path ${temp('scgi')};`,
        `  include ${temp('parley.conf')};`,
        '}',
      ].join('\n'),
    );
    const binary = fs.existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx';
    this.child = spawn(binary, ['-p', this.dir, '-c', path.join(this.dir, 'nginx.conf'), '-g', 'daemon off;'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    this.child.stderr?.on('data', (chunk) => (stderr += chunk));
    for (let attempt = 0; attempt < 200; attempt++) {
      if (this.child.exitCode !== null) throw new Error(`nginx exited: ${stderr}`);
      try {
        const response = await fetch(`${this.url}/health`);
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`nginx at ${this.url} did not answer: ${stderr}`);
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGQUIT');
    await exited;
  }
}

/**
 * The newest message in the shared server's outbox addressed to `to`, once there are at least `count`
 * (polled, bounded: 10 s). Mail is written whole (renamed into place), so a file read is a whole message.
 */
export async function mailTo(to: string, count = 1, containing = ''): Promise<string> {
  const outbox = process.env.PARLEY_E2E_OUTBOX;
  if (!outbox) throw new Error('PARLEY_E2E_OUTBOX is not set (see playwright.config.ts)');
  let found: string[] = [];
  await expect
    .poll(
      () => {
        const names = fs.existsSync(outbox) ? fs.readdirSync(outbox).filter((n) => n.endsWith('.eml')).sort() : [];
        found = names
          .map((n) => fs.readFileSync(path.join(outbox, n), 'utf8'))
          .filter((text) => text.split(/\r?\n/).some((line) => line.toLowerCase() === `to: ${to.toLowerCase()}`))
          // Mail is sent in the background: messages of different kinds may arrive in any order.
          .filter((text) => text.includes(containing));
        return found.length;
      },
      { timeout: 10_000, message: `mail #${count} to ${to}` },
    )
    .toBeGreaterThanOrEqual(count);
  return found[count - 1];
}

/** The link to `path` in a message, as the person would follow it (same host as the test's server). */
export function linkIn(mail: string, path: string): string {
  const match = mail.match(new RegExp(`https?://[^\\s]*${path.replace('/', '\\/')}\\?token=[A-Za-z0-9_-]+`));
  if (!match) throw new Error(`no ${path} link in:\n${mail}`);
  const url = new URL(match[0]);
  return `${url.pathname}${url.search}`;
}
