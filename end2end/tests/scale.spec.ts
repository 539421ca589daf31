import { test, expect, Page } from '@playwright/test';
import { Nginx, OwnServer, PASSWORD, freshDatabaseUrl, logIn, signUp, uniqueEmail } from './support';

// Two instances of Parley on one PostgreSQL behind the shipped deploy/nginx.conf, as a deployment that
// outgrew one machine runs it. (Run in the PostgreSQL pass of `./dev.sh test`.)
test.describe.configure({ mode: 'serial' });

const instanceEnv = {
  PARLEY_TRUST_PROXY: 'true',
  PARLEY_RATE_LIMIT_AUTH_PER_IP: '100000',
  PARLEY_RATE_LIMIT_LOGIN_FAILURES: '3',
  // Slow enough that streaming (or a proxy holding it back) is measurable.
  PARLEY_DEMO_CHUNK_DELAY_MS: '25',
};

let first: OwnServer;
let second: OwnServer;
let nginx: Nginx;

test.beforeAll(async () => {
  const databaseUrl = freshDatabaseUrl();
  first = new OwnServer(instanceEnv, databaseUrl);
  second = new OwnServer(instanceEnv, databaseUrl);
  await first.start();
  await second.start();
  nginx = new Nginx([`127.0.0.1:${first.port}`, `127.0.0.1:${second.port}`]);
  await nginx.start();
});

test.afterAll(async () => {
  await nginx?.stop();
  await first?.stop();
  await second?.stop();
});

/** Which instance nginx sent the page's main request to (a header the test nginx adds). */
async function servedBy(page: Page, action: () => Promise<unknown>): Promise<string> {
  const responsePromise = page.waitForResponse((r) => r.request().isNavigationRequest());
  await action();
  const response = await responsePromise;
  const upstream = response.headers()['x-parley-upstream'];
  expect(upstream, 'the test nginx names the instance').toBeTruthy();
  return upstream;
}

test('sign up, a streamed reply and reloads: every instance sees the session and the history', async ({ page }) => {
  await signUp(page, uniqueEmail(), PASSWORD, 'Ada', nginx.url);
  await page.getByRole('button', { name: 'New chat' }).click();
  await expect(page).toHaveURL(/\/chat\/[0-9a-f-]{36}$/);
  const composer = page.getByRole('textbox', { name: 'Message' });
  await expect(composer).toBeEditable();
  await composer.fill('Tell me about load balancers');
  await composer.press('Enter');

  // The reply streams through nginx: part of it is on screen while it is still being written.
  const reply = page.getByRole('article', { name: 'Assistant reply' }).last();
  await expect(page.getByRole('button', { name: 'Stop' })).toBeVisible();
  await expect(reply).toContainText('Local demo assistant');
  await expect(page.getByRole('button', { name: 'Send' })).toBeVisible();
  await expect(reply).toContainText('To talk to a real model');

  // Reload until both instances have rendered the page (bounded): same session, same history.
  const seen = new Set<string>();
  for (let attempt = 0; attempt < 10 && seen.size < 2; attempt++) {
    // Round robin counts every request (assets too), so a page load can keep landing on one instance;
    // a request of our own in between moves the rotation on.
    if (attempt > 0) await fetch(`${nginx.url}/health`);
    seen.add(await servedBy(page, () => page.reload()));
    await expect(page.getByRole('button', { name: 'Log out' })).toBeVisible();
    await expect(page.getByRole('article', { name: 'You said' })).toHaveText(/Tell me about load balancers/);
    const stored = page.getByRole('article', { name: 'Assistant reply' });
    await expect(stored).toContainText('You wrote 5 words');
    await expect(stored).toContainText('To talk to a real model');
  }
  expect(seen.size, 'both instances answered').toBe(2);
});

test('server-sent events pass through nginx piece by piece', async ({ request }) => {
  const signup = await request.post(`${nginx.url}/api/v1/auth/signup`, { data: { email: uniqueEmail(), password: PASSWORD } });
  expect(signup.status()).toBe(201);
  const token = (await signup.json()).access_token as string;
  const auth = { authorization: `Bearer ${token}` };
  const created = await request.post(`${nginx.url}/api/v1/conversations`, { headers: auth, data: {} });
  const { id } = await created.json();

  const started = Date.now();
  const response = await fetch(`${nginx.url}/api/v1/conversations/${id}/messages`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ content: 'Stream this through the proxy' }),
  });
  expect(response.status).toBe(201);
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let firstDeltaAt = -1;
  let doneAt = -1;
  for (let reads = 0; reads < 10_000 && doneAt < 0; reads++) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    if (firstDeltaAt < 0 && text.includes('event: delta')) firstDeltaAt = Date.now() - started;
    if (text.includes('event: done')) doneAt = Date.now() - started;
  }
  expect(firstDeltaAt).toBeGreaterThanOrEqual(0);
  expect(doneAt).toBeGreaterThan(0);
  // The demo writes a piece every 25 ms: unbuffered, the first arrives long before the last.
  expect(doneAt - firstDeltaAt).toBeGreaterThan(300);
});

test('failed logins on both instances count toward one limit', async ({ page, request }) => {
  const email = uniqueEmail();
  const wrong = { email, password: 'Wrong-password-1' };
  // One failure straight at each instance, one through nginx: three, the limit.
  expect((await request.post(`${first.url}/api/v1/auth/login`, { data: wrong })).status()).toBe(401);
  expect((await request.post(`${second.url}/api/v1/auth/login`, { data: wrong })).status()).toBe(401);
  expect((await request.post(`${nginx.url}/api/v1/auth/login`, { data: wrong })).status()).toBe(401);

  for (const instance of [first, second]) {
    const limited = await request.post(`${instance.url}/api/v1/auth/login`, { data: wrong });
    expect(limited.status()).toBe(429);
    expect(limited.headers()['retry-after']).toBeTruthy();
  }
  await page.goto(`${nginx.url}/login`);
  await logIn(page, email, 'Wrong-password-1');
  await expect(page.getByRole('alert')).toHaveText(/Too many attempts\. Please wait \d+ seconds and try again\./);
});

test('a refresh token rotated on one instance and reused on the other ends the login', async ({ request }) => {
  const signup = await request.post(`${first.url}/api/v1/auth/signup`, { data: { email: uniqueEmail(), password: PASSWORD } });
  const tokens = await signup.json();

  const rotated = await request.post(`${first.url}/api/v1/auth/refresh`, { data: { refresh_token: tokens.refresh_token } });
  expect(rotated.status()).toBe(200);
  const next = await rotated.json();

  const reused = await request.post(`${second.url}/api/v1/auth/refresh`, { data: { refresh_token: tokens.refresh_token } });
  expect(reused.status()).toBe(401);
  // The whole login is over, on both instances.
  expect((await request.post(`${first.url}/api/v1/auth/refresh`, { data: { refresh_token: next.refresh_token } })).status()).toBe(401);
  const me = await request.get(`${second.url}/api/v1/me`, { headers: { authorization: `Bearer ${next.access_token}` } });
  expect(me.status()).toBe(401);
});

test('two instances started at once on an empty database both become healthy', async ({ request }) => {
  const databaseUrl = freshDatabaseUrl();
  const a = new OwnServer({}, databaseUrl);
  const b = new OwnServer({}, databaseUrl);
  try {
    await Promise.all([a.start(), b.start()]);
    expect((await request.get(`${a.url}/health`)).status()).toBe(200);
    expect((await request.get(`${b.url}/health`)).status()).toBe(200);
    // Both work against the migrated schema: an account made on one logs in on the other.
    const email = uniqueEmail();
    expect((await request.post(`${a.url}/api/v1/auth/signup`, { data: { email, password: PASSWORD } })).status()).toBe(201);
    expect((await request.post(`${b.url}/api/v1/auth/login`, { data: { email, password: PASSWORD } })).status()).toBe(200);
  } finally {
    await a.stop();
    await b.stop();
  }
});
