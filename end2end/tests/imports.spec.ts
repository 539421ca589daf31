import AxeBuilder from '@axe-core/playwright';
import { test, expect, Page } from '@playwright/test';
import { signUp, uniqueEmail } from './support';

// A ChatGPT export (conversations.json) written from the format's public description: a tree of nodes with
// the current branch ending at `current_node`; the first question was edited, so the old wording and its
// answer are a branch that is not current.
function chatgptExport(title: string): Buffer {
  const node = (id: string, parent: string | null, children: string[], role: string | null, text: string, t: number) => ({
    id,
    parent,
    children,
    message: role
      ? { id, author: { role }, create_time: t, content: { content_type: 'text', parts: [text] }, metadata: role === 'assistant' ? { model_slug: 'gpt-4o' } : {} }
      : null,
  });
  const conversation = {
    title,
    create_time: 1_700_000_000,
    update_time: 1_700_000_100,
    conversation_id: `c-${title}`,
    current_node: 'b2',
    mapping: {
      root: node('root', null, ['a1', 'a2'], null, '', 0),
      a1: node('a1', 'root', ['b1'], 'user', 'An old wording of the question', 1_700_000_001),
      b1: node('b1', 'a1', [], 'assistant', 'An answer nobody kept', 1_700_000_002),
      a2: node('a2', 'root', ['b2'], 'user', 'Which birds nest on sea cliffs?', 1_700_000_010),
      b2: node('b2', 'a2', [], 'assistant', 'Puffins, guillemots and kittiwakes.', 1_700_000_011),
    },
  };
  return Buffer.from(JSON.stringify([conversation]));
}

async function importFromTheAccountPage(page: Page, title: string) {
  await page.goto('/account');
  await page.getByLabel('Export file').setInputFiles({ name: 'conversations.json', mimeType: 'application/json', buffer: chatgptExport(title) });
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  await expect(page).toHaveURL(/\/imports\/[0-9a-f-]+$/);
  // The page refreshes itself until the import is done.
  await expect(page.getByRole('status')).toHaveText('Done: 1 conversation and 2 messages added from ChatGPT.', { timeout: 20_000 });
  await expect(page.getByRole('progressbar', { name: 'Import progress' })).toHaveAttribute('value', '2');
  await page.getByRole('link', { name: 'Open your conversations' }).click();
  await page.getByRole('link', { name: title }).first().click();
  await expect(page.getByText('Puffins, guillemots and kittiwakes.')).toBeVisible();
  await expect(page.getByText('An answer nobody kept')).toHaveCount(0);
}

async function expectNoViolations(page: Page, where: string) {
  const violations = async () =>
    (await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze()).violations.map(
      (v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`,
    );
  await expect.poll(violations, { message: where, timeout: 10_000 }).toEqual([]);
}

for (const colorScheme of ['light', 'dark'] as const) {
  test.describe(`${colorScheme} colour scheme`, () => {
    test.use({ colorScheme });

    test('the import page and the account page with an import have no WCAG A/AA violations', async ({ page }) => {
      await signUp(page, uniqueEmail());
      await page.goto('/account');
      await page.getByLabel('Export file').setInputFiles({ name: 'conversations.json', mimeType: 'application/json', buffer: chatgptExport('Gulls') });
      await page.getByRole('button', { name: 'Import', exact: true }).click();
      await expect(page.getByRole('status')).toContainText('Done:', { timeout: 20_000 });
      await expectNoViolations(page, 'the import page');
      await page.goto('/account');
      await expect(page.getByRole('heading', { name: 'Recent imports' })).toBeVisible();
      await expectNoViolations(page, '/account with an import');
    });
  });
}

test.describe('with JavaScript', () => {
  test('import a ChatGPT export from the account page and open the imported conversation', async ({ page }) => {
    await signUp(page, uniqueEmail());
    await importFromTheAccountPage(page, 'Sea cliffs');
    // The account page lists the import.
    await page.goto('/account');
    await expect(page.getByText('Done: 1 conversation and 2 messages added from ChatGPT.')).toBeVisible();
  });

  test('an empty file is refused with a message beside the form', async ({ page }) => {
    await signUp(page, uniqueEmail());
    await page.goto('/account');
    await page.getByLabel('Export file').setInputFiles({ name: 'empty.json', mimeType: 'application/json', buffer: Buffer.alloc(0) });
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await expect(page).toHaveURL(/\/account\?import=empty/);
    await expect(page.getByRole('alert').filter({ hasText: 'The file you chose is empty' })).toBeVisible();
  });
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('the import form and its progress page work as plain HTML', async ({ page }) => {
    await signUp(page, uniqueEmail());
    await importFromTheAccountPage(page, 'Nesting');
  });
});
