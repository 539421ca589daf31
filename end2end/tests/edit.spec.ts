import { test, expect, Page } from '@playwright/test';
import { signUp, uniqueEmail } from './support';

async function say(page: Page, text: string, count: number) {
  const composer = page.getByRole('textbox', { name: 'Message' });
  await composer.fill(text);
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(page.getByRole('article', { name: 'Assistant reply' })).toHaveCount(count);
  await expect(page.getByRole('button', { name: 'Send' })).toBeVisible();
}

/** Two exchanges, then the first message edited: only the edited message and its new reply remain. */
async function editFirstMessage(page: Page) {
  await signUp(page, uniqueEmail());
  await page.getByRole('button', { name: 'New chat' }).click();
  await expect(page).toHaveURL(/\/chat\/[0-9a-f-]{36}$/);
  await say(page, 'first question', 1);
  await say(page, 'second question', 2);

  const edit = page.locator('details.message-edit').first();
  await edit.getByText('Edit', { exact: true }).click();
  const wording = edit.getByLabel('New wording');
  await expect(wording).toHaveValue('first question');
  await wording.fill('first, edited');
  await edit.getByRole('button', { name: 'Save and regenerate' }).click();

  const asked = page.getByRole('article', { name: 'You said' });
  await expect(asked).toHaveCount(1);
  await expect(asked).toContainText('first, edited');
  await expect(page.getByRole('article', { name: 'Assistant reply' })).toHaveCount(1);
  await expect(page.getByText('second question')).toHaveCount(0);

  // A new reply to the last message keeps it and replaces only the reply.
  await page.getByRole('button', { name: 'Regenerate reply' }).click();
  await expect(page.getByRole('article', { name: 'Assistant reply' })).toHaveCount(1);
  await expect(asked).toHaveCount(1);
  await expect(asked).toContainText('first, edited');
}

test.describe('with JavaScript', () => {
  test('editing a message replaces the later ones with a new reply', async ({ page }) => {
    await editFirstMessage(page);
  });
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('editing works as a plain form', async ({ page }) => {
    await editFirstMessage(page);
  });
});
