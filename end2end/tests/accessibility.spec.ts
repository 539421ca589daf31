import AxeBuilder from '@axe-core/playwright';
import { test, expect, Page } from '@playwright/test';
import { signUp, uniqueEmail } from './support';

// axe-core's WCAG 2.1 A and AA rules, on every page a person can reach, in both colour schemes.
async function violations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  return results.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
}

// Polled: a page caught between its server render and hydration once gave a one-off contrast reading on the
// header; a real violation persists and still fails after the timeout.
async function expectNoViolations(page: Page, where: string) {
  await expect.poll(() => violations(page), { message: where, timeout: 10_000 }).toEqual([]);
}

for (const colorScheme of ['light', 'dark'] as const) {
  test.describe(`${colorScheme} colour scheme`, () => {
    test.use({ colorScheme });

    test('pages for visitors have no WCAG A/AA violations', async ({ page }) => {
      for (const path of ['/', '/signup', '/login', '/forgot-password', '/forgot-password?sent=1', '/reset-password?token=x', '/verify-email?token=x', '/no-such-page']) {
        await page.goto(path);
        await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
        await expectNoViolations(page, path);
      }
    });

    test('pages behind an account have no WCAG A/AA violations', async ({ page }) => {
      await signUp(page, uniqueEmail());
      await expectNoViolations(page, '/chat');
      const composer = page.getByRole('textbox', { name: 'Message' });
      await composer.fill('Hello, **accessible** world');
      await page.getByRole('button', { name: 'Send' }).click();
      await expect(page.getByRole('article', { name: 'Assistant reply' })).toContainText('Local demo assistant');
      await expect(page.getByRole('button', { name: 'Send' })).toBeVisible();
      await expectNoViolations(page, 'a conversation');
      // The rename and delete panels, open.
      await page.getByRole('button', { name: 'Rename' }).click();
      await page.getByRole('button', { name: 'Delete', exact: true }).click();
      await expect(page.getByRole('button', { name: 'Delete conversation' })).toBeVisible();
      await page.locator('details.message-edit').getByText('Edit', { exact: true }).click();
      await expect(page.getByLabel('New wording')).toBeVisible();
      await expectNoViolations(page, 'a conversation, panels and the message edit open');
      // Search results with highlighted words, and the conversation opened at one of them.
      await page.goto('/search?q=accessible');
      await expect(page.getByRole('list', { name: 'Matching messages' }).locator('mark').first()).toBeVisible();
      await expectNoViolations(page, '/search');
      await page.getByRole('list', { name: 'Matching messages' }).getByRole('link').first().click();
      await expect(page.locator('article[aria-current="true"]')).toBeVisible();
      await expectNoViolations(page, 'a conversation opened at a search result');
      await page.goto('/account');
      await expect(page.getByRole('heading', { level: 1 })).toHaveText('Account');
      await expectNoViolations(page, '/account');
      // The Tasks page with a task, done, and its edit form open; and a reply with a tool call.
      await page.goto('/tasks');
      await page.locator('form.task-add').getByLabel('Title').fill('Water the tomatoes');
      await page.getByRole('button', { name: 'Add task' }).click();
      // This test is about the page's accessibility, not about acting before it hydrates (tasks.spec.ts).
      await expect(page.getByRole('checkbox', { name: 'Water the tomatoes' })).toBeVisible();
      await expect(page.locator('html')).toHaveAttribute('data-hydrated', '');
      await page.getByRole('checkbox', { name: 'Water the tomatoes' }).check();
      await expect(page.locator('li.task.done')).toHaveCount(1);
      await page.getByText('Edit', { exact: true }).click();
      await expectNoViolations(page, '/tasks');
      await page.goto('/chat');
      await page.getByRole('textbox', { name: 'Message' }).fill('What are my tasks?');
      await page.getByRole('button', { name: 'Send' }).click();
      await page.getByRole('list', { name: 'Tools used' }).getByText('Used list_tasks').click();
      await expectNoViolations(page, 'a reply with a tool call, open');
    });
  });
}
