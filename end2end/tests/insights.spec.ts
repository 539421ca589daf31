import AxeBuilder from '@axe-core/playwright';
import { test, expect, Page } from '@playwright/test';
import { OwnServer, PASSWORD, uniqueEmail } from './support';

// Issue 23: the insights chart and summary on the chat page; signup with goals, and consent to the terms
// when the site has them. A server of our own analyses every 2 messages (a message and its reply) and has
// terms to accept.
let server: OwnServer;

test.beforeAll(async () => {
  server = new OwnServer({ PARLEY_ANALYSIS_EVERY: '2', PARLEY_TERMS_URL: '/terms' });
  await server.start();
});

test.afterAll(async () => {
  await server?.stop();
});

async function signUpWithGoals(page: Page, goals: string) {
  await page.goto(`${server.url}/signup`);
  await page.getByLabel('Email').fill(uniqueEmail());
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByLabel('Confirm password').fill(PASSWORD);
  await page.getByLabel('Your goals (optional)').fill(goals);
  const consent = page.getByRole('checkbox', { name: 'I accept the terms of service' });
  await expect(page.getByRole('link', { name: 'terms of service' })).toHaveAttribute('href', '/terms');
  // Without the box ticked, the form does not go (the server refuses it too: server/tests/api/auth.rs).
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/signup$/);
  await consent.check();
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/chat$/);
}

/** Sends a first message from the chat home and waits for the reply; then reloads until its analysis shows. */
async function chatUntilScored(page: Page, message: string) {
  await page.getByRole('textbox', { name: 'Message' }).fill(message);
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(page).toHaveURL(/\/chat\/[0-9a-f-]{36}/);
  await expect(page.getByRole('article', { name: 'Assistant reply' })).toContainText('Local demo assistant');
  // The analysis runs in the background; a reload shows it once it is done.
  await expect(async () => {
    await page.reload();
    await expect(page.getByText(/^Insights: latest score/)).toBeVisible({ timeout: 1_000 });
  }).toPass({ timeout: 20_000 });
}

async function expectInsights(page: Page) {
  await page.getByText('Insights: latest score 20 of 100').click();
  await expect(page.getByRole('img', { name: /Scores over time, oldest first: 20\. Latest: 20 out of 100\./ })).toBeVisible();
  await expect(page.getByText(/Latest summary: The person sounds troubled/)).toBeVisible();
}

for (const colorScheme of ['light', 'dark'] as const) {
  test.describe(`${colorScheme} colour scheme`, () => {
    test.use({ colorScheme });

    test('the chart and the latest summary, axe-clean; goals became the instructions', async ({ page }) => {
      await signUpWithGoals(page, 'Sleep better');
      await chatUntilScored(page, 'I feel sad and alone');
      await expectInsights(page);
      const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
      expect(results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);

      await page.goto(`${server.url}/account`);
      await expect(page.getByText(/You accepted the terms of service on \d{4}-\d{2}-\d{2}/)).toBeVisible();
      await expect(page.getByRole('textbox', { name: /instructions/i })).toHaveValue('Sleep better');
    });
  });
}

test.describe('on a phone (375 x 740)', () => {
  test.use({ viewport: { width: 375, height: 740 } });

  test('the chart fits the screen', async ({ page }) => {
    await signUpWithGoals(page, '');
    await chatUntilScored(page, 'I feel sad and alone');
    await expectInsights(page);
    const chart = await page.getByRole('img', { name: /Scores over time/ }).boundingBox();
    expect(chart!.x).toBeGreaterThanOrEqual(0);
    expect(chart!.x + chart!.width).toBeLessThanOrEqual(375);
  });
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('signup with goals and consent, then the chart and summary', async ({ page }) => {
    await signUpWithGoals(page, 'Worry less');
    await chatUntilScored(page, 'I feel sad and alone');
    await expectInsights(page);
  });
});
