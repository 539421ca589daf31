import { test, expect, APIRequestContext, Page } from '@playwright/test';
import { PASSWORD, holdHydration, logIn, signUp, uniqueEmail } from './support';

async function apiUser(request: APIRequestContext, email = uniqueEmail()) {
  const response = await request.post('/api/v1/auth/signup', { data: { email, password: PASSWORD } });
  expect(response.status()).toBe(201);
  const body = await response.json();
  return { email, token: body.access_token as string };
}

async function newChat(page: Page) {
  await page.getByRole('button', { name: 'New chat' }).click();
  await expect(page).toHaveURL(/\/chat\/[0-9a-f-]{36}$/);
  await expect(page.getByRole('textbox', { name: 'Message' })).toBeEditable();
}

test.describe('with JavaScript', () => {
  test('new chat, a streamed reply, reload, rename and delete', async ({ page }) => {
    await signUp(page, uniqueEmail());
    await newChat(page);

    const composer = page.getByRole('textbox', { name: 'Message' });
    await composer.fill('Tell me about keyset pagination');
    await composer.press('Enter');

    // While it streams, the composer is disabled and Stop is offered.
    await expect(page.getByRole('button', { name: 'Stop' })).toBeVisible();
    await expect(composer).toBeDisabled();
    const reply = page.getByRole('article', { name: 'Assistant reply' }).last();
    await expect(reply).toContainText('Local demo assistant');
    await expect(page.getByRole('button', { name: 'Send' })).toBeVisible();
    await expect(reply).toContainText('ASSISTANT_BASE_URL');
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Tell me about keyset pagination');
    await expect(page.getByRole('complementary', { name: 'Conversations' }).getByRole('link', { name: /Tell me about keyset pagination/ })).toBeVisible();

    await page.reload();
    await expect(page.getByRole('article', { name: 'You said' })).toHaveText(/Tell me about keyset pagination/);
    await expect(page.getByRole('article', { name: 'Assistant reply' })).toContainText('Local demo assistant');

    await page.getByRole('button', { name: 'Rename' }).click();
    await page.getByLabel('New title').fill('Paging notes');
    await page.getByRole('button', { name: 'Save title' }).click();
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Paging notes');
    await expect(page.getByRole('complementary', { name: 'Conversations' })).toContainText('Paging notes');

    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await page.getByRole('button', { name: 'Delete conversation' }).click();
    await expect(page).toHaveURL(/\/chat$/);
    await expect(page.getByRole('complementary', { name: 'Conversations' })).not.toContainText('Paging notes');
  });

  test('the times of stored messages follow the browser clock once the page hydrates', async ({ page }) => {
    await signUp(page, uniqueEmail());
    await newChat(page);
    const composer = page.getByRole('textbox', { name: 'Message' });
    await composer.fill('What time is it?');
    await composer.press('Enter');
    await expect(page.getByRole('article', { name: 'Assistant reply' })).toContainText('ASSISTANT_BASE_URL');

    // The server renders "just now"; a browser three hours ahead relabels every stored message itself.
    await page.clock.install({ time: new Date(Date.now() + 3 * 3600 * 1000) });
    await page.reload();
    await expect(page.getByRole('article', { name: 'You said' }).locator('time')).toHaveText('3 hours ago');
    await expect(page.getByRole('article', { name: 'Assistant reply' }).locator('time')).toHaveText('3 hours ago');
  });

  test('Shift+Enter makes a new line and Stop keeps what was received', async ({ page }) => {
    await signUp(page, uniqueEmail());
    await newChat(page);
    const composer = page.getByRole('textbox', { name: 'Message' });
    await composer.fill('first line');
    await composer.press('Shift+Enter');
    await composer.pressSequentially('second line');
    await expect(composer).toHaveValue('first line\nsecond line');

    await page.getByRole('button', { name: 'Send' }).click();
    const streaming = page.getByRole('article', { name: 'Assistant reply' }).last();
    await expect(streaming).toContainText('Local');
    await page.getByRole('button', { name: 'Stop' }).click();
    await expect(page.getByRole('button', { name: 'Send' })).toBeVisible();
    await expect(page.getByRole('article', { name: 'Assistant reply' }).last()).toContainText('Local');
    await expect(composer).toBeEditable();
  });

  test('an empty message is refused and a hostile one renders inert', async ({ page }) => {
    page.on('dialog', (dialog) => {
      throw new Error(`a dialog opened: ${dialog.message()}`);
    });
    await signUp(page, uniqueEmail());
    await newChat(page);
    const composer = page.getByRole('textbox', { name: 'Message' });
    await composer.fill('   ');
    await composer.press('Enter');
    await expect(page.getByRole('alert')).toContainText('Write a message first.');

    for (const hostile of ['<img src=x onerror=alert(1)>', '<script>alert(1)</script>', '[x](javascript:alert(1))']) {
      await composer.fill(hostile);
      await composer.press('Enter');
      await expect(page.getByRole('button', { name: 'Send' })).toBeVisible({ timeout: 15_000 });
    }
    await page.reload();
    const mine = page.getByRole('article', { name: 'You said' });
    await expect(mine.nth(0)).toContainText('<img src=x onerror=alert(1)>');
    await expect(mine.nth(1)).toContainText('<script>alert(1)</script>');
    await expect(page.locator('.message-body img')).toHaveCount(0);
    await expect(page.locator('.message-body script')).toHaveCount(0);
    await expect(page.locator('.message-body a[href^="javascript"]')).toHaveCount(0);
  });

  test('Load older reaches the first of 200 messages', async ({ page, request }) => {
    const user = await apiUser(request);
    const headers = { Authorization: `Bearer ${user.token}` };
    const created = await request.post('/api/v1/conversations', { headers, data: { title: 'Long history' } });
    const { id } = await created.json();
    for (let batch = 0; batch < 10; batch++) {
      await Promise.all(
        Array.from({ length: 10 }, (_, n) =>
          request.post(`/api/v1/conversations/${id}/messages`, { headers, data: { content: `seed ${batch * 10 + n}` } }),
        ),
      );
    }
    const oldest = await request.get(`/api/v1/conversations/${id}/messages?limit=100`, { headers });
    let page2 = await oldest.json();
    const second = await request.get(`/api/v1/conversations/${id}/messages?limit=100&before=${page2.next_cursor}`, { headers });
    page2 = await second.json();
    expect(page2.messages).toHaveLength(100);
    const first = page2.messages[0].content as string;

    await page.goto('/login');
    await logIn(page, user.email);
    await expect(page).toHaveURL(/\/chat$/);
    await page.goto(`/chat/${id}`);
    const messages = page.getByRole('log', { name: 'Conversation history' }).getByRole('article');
    await expect(messages).toHaveCount(50);
    for (let click = 0; click < 3; click++) {
      await page.getByRole('button', { name: 'Load older' }).click();
      await expect(messages).toHaveCount(Math.min(200, 100 + click * 50));
    }
    await expect(page.getByRole('button', { name: 'Load older' })).toHaveCount(0);
    await expect(messages.first()).toHaveText(new RegExp(`${first}\\s*$`));
  });

  test('Enter in the empty state starts a conversation', async ({ page }) => {
    await signUp(page, uniqueEmail());
    const composer = page.getByRole('textbox', { name: 'Message' });
    await composer.fill('Started with Enter');
    await composer.press('Enter');
    await expect(page).toHaveURL(/\/chat\/[0-9a-f-]{36}/);
    await expect(page.getByRole('article', { name: 'You said' })).toContainText('Started with Enter');
    await expect(page.getByRole('article', { name: 'Assistant reply' })).toContainText('Local demo assistant');
  });

  test('text typed before the page hydrates is kept and sent', async ({ page }) => {
    await signUp(page, uniqueEmail());
    await newChat(page);
    const url = page.url();

    const hydration = await holdHydration(page);
    await page.goto(url, { waitUntil: 'domcontentloaded' });
    const composer = page.getByRole('textbox', { name: 'Message' });
    await composer.fill('Typed while the page was loading');
    hydration.release();

    // Rename opens its panel only once the page has hydrated.
    const rename = page.getByRole('button', { name: 'Rename' });
    await expect(async () => {
      await rename.click();
      await expect(rename).toHaveAttribute('aria-expanded', 'true', { timeout: 500 });
    }).toPass({ timeout: 15_000 });
    await expect(composer).toHaveValue('Typed while the page was loading');
    await composer.press('Enter');
    await expect(page.getByRole('article', { name: 'You said' })).toContainText('Typed while the page was loading');
    await expect(page.getByRole('article', { name: 'Assistant reply' })).toContainText('Local demo assistant');
    await expect(composer).toHaveValue('');
  });

  test('Enter pressed before the page hydrates sends the message exactly once', async ({ page, request }) => {
    const email = uniqueEmail();
    await signUp(page, email);
    await newChat(page);
    const url = page.url();

    const hydration = await holdHydration(page);
    await page.goto(url, { waitUntil: 'domcontentloaded' });
    await expect(page.locator('html')).not.toHaveAttribute('data-hydrated');
    const composer = page.getByRole('textbox', { name: 'Message' });
    await composer.fill('Sent before the app loaded');
    await composer.press('Enter');
    await composer.press('Enter'); // an impatient second press sends nothing more

    // It went as a plain form post: the page comes back with the message and the whole reply.
    const said = page.getByRole('article', { name: 'You said' });
    await expect(said).toHaveCount(1);
    await expect(said).toContainText('Sent before the app loaded');
    await expect(page.getByRole('article', { name: 'Assistant reply' })).toContainText('Local demo assistant');

    hydration.release();
    await expect(page.locator('html')).toHaveAttribute('data-hydrated', '');
    await expect(said).toHaveCount(1);
    await expect(composer).toHaveValue('');
    // The server agrees: one message from the user, one reply.
    const login = await request.post('/api/v1/auth/login', { data: { email, password: PASSWORD } });
    const token = (await login.json()).access_token;
    const id = url.split('/').pop();
    const history = await request.get(`/api/v1/conversations/${id}/messages`, { headers: { authorization: `Bearer ${token}` } });
    const roles = ((await history.json()).messages as { role: string }[]).map((m) => m.role);
    expect(roles).toEqual(['user', 'assistant']);
  });

  test('search finds a conversation by what was said in it', async ({ page }) => {
    // Also moves from one conversation to another without a reload, which once crashed the page.
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await signUp(page, uniqueEmail());
    const composer = page.getByRole('textbox', { name: 'Message' });
    await composer.fill('Plans for the aubergine harvest');
    await page.getByRole('button', { name: 'Send' }).click();
    await expect(page.getByRole('article', { name: 'Assistant reply' })).toContainText('Local demo assistant');
    await newChat(page);
    await composer.fill('Notes on keyset pagination');
    await composer.press('Enter');
    await expect(page.getByRole('article', { name: 'Assistant reply' })).toContainText('Local demo assistant');
    await expect(page.getByRole('button', { name: 'Send' })).toBeVisible();

    const sidebar = page.getByRole('complementary', { name: 'Conversations' });
    await sidebar.getByRole('searchbox', { name: 'Search conversations' }).fill('AUBERGINE');
    await sidebar.getByRole('button', { name: 'Search' }).click();
    await expect(sidebar.getByRole('link', { name: /Plans for the aubergine harvest/ })).toBeVisible();
    await expect(sidebar.getByRole('link', { name: /Notes on keyset pagination/ })).toHaveCount(0);

    await sidebar.getByRole('searchbox', { name: 'Search conversations' }).fill('nothing like this anywhere');
    await sidebar.getByRole('button', { name: 'Search' }).click();
    await expect(sidebar).toContainText('No conversations match');
    await sidebar.getByRole('link', { name: 'Clear search' }).click();
    await expect(sidebar.getByRole('link', { name: /Notes on keyset pagination/ })).toBeVisible();
    await expect(sidebar.getByRole('link', { name: /Plans for the aubergine harvest/ })).toBeVisible();
    expect(errors).toEqual([]);
  });

  test("another user's conversation is not found", async ({ page, request }) => {
    const owner = await apiUser(request);
    const created = await request.post('/api/v1/conversations', { headers: { Authorization: `Bearer ${owner.token}` }, data: {} });
    const { id } = await created.json();
    await signUp(page, uniqueEmail());
    const response = await page.goto(`/chat/${id}`);
    expect(response?.status()).toBe(404);
    await expect(page.getByRole('heading', { name: 'Conversation not found' })).toBeVisible();
  });
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('start a chat, read the reply, rename and delete', async ({ page }) => {
    await signUp(page, uniqueEmail());
    await page.getByRole('textbox', { name: 'Message' }).fill('Hello without scripts');
    await page.getByRole('button', { name: 'Send' }).click();
    await expect(page).toHaveURL(/\/chat\/[0-9a-f-]{36}/);
    await expect(page.getByRole('article', { name: 'Assistant reply' })).toContainText('Local demo assistant');

    await page.getByRole('textbox', { name: 'Message' }).fill('A second message');
    await page.getByRole('button', { name: 'Send' }).click();
    await expect(page.getByRole('article', { name: 'You said' })).toHaveCount(2);

    await page.getByLabel('New title').fill('No-JS chat');
    await page.getByRole('button', { name: 'Save title' }).click();
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('No-JS chat');

    await page.getByRole('button', { name: 'Delete conversation' }).click();
    await expect(page).toHaveURL(/\/chat$/);
    await expect(page.getByRole('complementary', { name: 'Conversations' })).not.toContainText('No-JS chat');
  });
});

test.describe('on a phone (375 x 740)', () => {
  test.use({ viewport: { width: 375, height: 740 } });

  test('a conversation opens in view with the composer in reach, and the list is one tap away', async ({ page, request }) => {
    const email = uniqueEmail();
    await signUp(page, email);
    const login = await request.post('/api/v1/auth/login', { data: { email, password: PASSWORD } });
    const token = (await login.json()).access_token as string;
    const headers = { authorization: `Bearer ${token}` };
    const created = await request.post('/api/v1/conversations', { headers, data: { title: 'Phone chat' } });
    const { id } = await created.json();
    for (let i = 1; i <= 12; i++) {
      const sent = await request.post(`/api/v1/conversations/${id}/messages`, { headers, data: { content: `Question number ${i}` } });
      expect(sent.status()).toBe(201);
    }

    await page.goto(`/chat/${id}`);
    await expect(page.locator('html')).toHaveAttribute('data-hydrated', '');
    // The header is one line.
    const header = await page.locator('header.site-header').boundingBox();
    expect(header!.height).toBeLessThan(60);
    // The newest message and the composer are on screen without scrolling the page.
    await expect(page.getByRole('article', { name: 'You said' }).last()).toContainText('Question number 12');
    await expect(page.getByRole('article', { name: 'Assistant reply' }).last()).toBeInViewport();
    await expect(page.getByRole('textbox', { name: 'Message' })).toBeInViewport();
    expect(await page.evaluate(() => window.scrollY)).toBe(0);

    // The list and search are folded away, one tap from here.
    const list = page.getByRole('complementary', { name: 'Conversations' });
    await expect(list).toBeHidden();
    await page.getByText('Conversations', { exact: true }).click();
    await expect(list.getByRole('link', { name: /Phone chat/ })).toBeVisible();
    const search = await page.getByRole('searchbox', { name: 'Search conversations' }).boundingBox();
    expect(search!.width).toBeGreaterThanOrEqual(375 / 2);
    await page.getByText('Conversations', { exact: true }).click();
    await expect(list).toBeHidden();
  });
});
