import { test, expect, APIRequestContext, Page } from '@playwright/test';
import { OwnServer, PASSWORD, signUp, uniqueEmail } from './support';

// A 500-message conversation whose first message holds the word searched for. The server of its own
// answers without pauses, so seeding 250 exchanges through the API takes a few seconds.
let server: OwnServer;

test.beforeAll(async () => {
  server = new OwnServer({ PARLEY_DEMO_CHUNK_DELAY_MS: '0', PARLEY_RATE_LIMIT_AUTH_PER_IP: '100000' });
  await server.start();
});

test.afterAll(async () => {
  await server.stop();
});

async function seedLongConversation(request: APIRequestContext, email: string): Promise<string> {
  const login = await request.post(`${server.url}/api/v1/auth/login`, { data: { email, password: PASSWORD } });
  const token = (await login.json()).access_token as string;
  const headers = { authorization: `Bearer ${token}` };
  const created = await request.post(`${server.url}/api/v1/conversations`, { headers, data: { title: 'A long history' } });
  const { id } = await created.json();
  const send = (content: string) => request.post(`${server.url}/api/v1/conversations/${id}/messages`, { headers, data: { content } });
  expect((await send('Grandmother kept the recipe for periwinkle jam in the attic')).status()).toBe(201);
  for (let n = 2; n <= 250; n++) {
    expect((await send(`Small talk, message number ${n}`)).status()).toBe(201);
  }
  return id as string;
}

async function searchAndOpen(page: Page, id: string) {
  await page.goto(`${server.url}/chat/${id}`);
  const sidebar = page.getByRole('complementary', { name: 'Conversations' });
  await sidebar.getByRole('searchbox', { name: 'Search conversations' }).fill('periwink');
  await sidebar.getByRole('button', { name: 'Search' }).click();

  const results = page.getByRole('list', { name: 'Matching messages' });
  // The user's own message (the demo assistant's reply quotes it, and matches too).
  const mine = results.getByRole('link').filter({ hasText: 'You ·' }).filter({ hasText: 'recipe for periwinkle jam' });
  await expect(mine).toHaveCount(1);
  await expect(mine.locator('mark')).toHaveText('periwinkle');
  await expect(mine).toContainText('A long history');
  await mine.click();

  await expect(page).toHaveURL(new RegExp(`/chat/${id}\\?around=`));
  const target = page.getByRole('article', { name: 'You said' }).filter({ hasText: 'recipe for periwinkle jam' });
  await expect(target).toBeInViewport();
  await expect(target).toHaveAttribute('aria-current', 'true');
  await expect(target).toHaveClass(/focused/);
  // The window around it is loaded, not the whole history: the newest message is not on the page yet.
  await expect(page.getByRole('article', { name: 'You said' }).filter({ hasText: 'message number 250' })).toHaveCount(0);
}

test.describe('search', () => {
  test('finds a word from an old message and opens the conversation at it, highlighted', async ({ page, request }) => {
    test.setTimeout(90_000);
    const email = uniqueEmail();
    await signUp(page, email, PASSWORD, 'Ada', server.url);
    const id = await seedLongConversation(request, email);
    await searchAndOpen(page, id);

    // From there, newer messages load in place, and the reader can go on to the newest.
    await expect(page.locator('html')).toHaveAttribute('data-hydrated', '');
    // Hydrating did not scroll away from it.
    await expect(page.getByRole('article', { name: 'You said' }).filter({ hasText: 'recipe for periwinkle jam' })).toBeInViewport();
    const before = await page.getByRole('article', { name: 'You said' }).count();
    const url = page.url();
    await page.getByRole('button', { name: 'Load newer' }).click();
    await expect(page.getByRole('article', { name: 'You said' }).filter({ hasText: /message number 38\b/ })).toHaveCount(1);
    expect(await page.getByRole('article', { name: 'You said' }).count()).toBeGreaterThan(before);
    expect(page.url()).toBe(url); // loaded in place, no navigation
    // The first message of the conversation is on the page, so there is nothing older to load.
    await expect(page.getByRole('button', { name: 'Load older' })).toHaveCount(0);
  });

  test('a search with no match says so', async ({ page }) => {
    await signUp(page, uniqueEmail(), PASSWORD, 'Ada', server.url);
    await page.goto(`${server.url}/search?q=${encodeURIComponent('"unbalanced NEAR( *')}`);
    await expect(page.getByRole('heading', { level: 1 })).toContainText('Messages matching');
    await expect(page.getByText('No messages match.')).toBeVisible();
  });
});

test.describe('search without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('finds the old message and opens the conversation at it, highlighted', async ({ page, request }) => {
    test.setTimeout(90_000);
    const email = uniqueEmail();
    await signUp(page, email, PASSWORD, 'Ada', server.url);
    const id = await seedLongConversation(request, email);
    await searchAndOpen(page, id);
    // Load newer is a plain link to the window further on.
    await page.getByRole('button', { name: 'Load newer' }).click();
    await expect(page).toHaveURL(/around=/);
    await expect(page.getByRole('article', { name: 'You said' }).filter({ hasText: /message number 26\b/ })).toHaveCount(1);
    await expect(page.getByRole('button', { name: 'Load newer' })).toBeVisible();
  });
});
