import { test, expect, Page } from '@playwright/test';
import { signUp, uniqueEmail } from './support';

async function addTask(page: Page, title: string, description = '') {
  const form = page.locator('form.task-add');
  await form.getByLabel('Title').fill(title);
  if (description) await form.getByLabel('Description (optional)').fill(description);
  await form.getByRole('button', { name: 'Add task' }).click();
  // The page reloads with the task, as a person sees it; what is typed into the page being replaced is lost.
  if (title.trim()) await expect(page.locator('.task-title', { hasText: title })).toBeVisible();
}

test.describe('with JavaScript', () => {
  test('add, tick off, filter, edit and delete tasks', async ({ page }) => {
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await signUp(page, uniqueEmail());
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Tasks' }).click();
    await expect(page).toHaveURL(/\/tasks$/);
    await expect(page.getByText('No tasks yet.')).toBeVisible();
    await expect(page.locator('html')).toHaveAttribute('data-hydrated', '');

    await addTask(page, 'Water the tomatoes', 'Both beds, before nine');
    await addTask(page, 'Call the plumber');
    const tomatoes = page.getByRole('checkbox', { name: 'Water the tomatoes' });
    await expect(tomatoes).not.toBeChecked();
    await expect(page.locator('.task-description')).toHaveText(['Both beds, before nine']);
    await expect(page.locator('.task-title')).toHaveText(['Call the plumber', 'Water the tomatoes']);

    // A tick saves at once: it survives a reload.
    await tomatoes.check();
    await expect(page.locator('li.task.done')).toHaveCount(1);
    await page.reload();
    await expect(page.getByRole('checkbox', { name: 'Water the tomatoes' })).toBeChecked();

    const filters = page.getByRole('navigation', { name: 'Show tasks' });
    await filters.getByRole('link', { name: 'Done' }).click();
    await expect(page.locator('.task-title')).toHaveText(['Water the tomatoes']);
    await filters.getByRole('link', { name: 'Open' }).click();
    await expect(page.locator('.task-title')).toHaveText(['Call the plumber']);
    await filters.getByRole('link', { name: 'All' }).click();

    // A blank title is refused next to the field, and what was typed stays.
    const form = page.locator('form.task-add');
    await form.getByLabel('Description (optional)').fill('Kept after the error');
    await form.getByLabel('Title').fill('   ');
    await form.getByRole('button', { name: 'Add task' }).click();
    await expect(form.locator('#task-title-errors')).toHaveText('Title cannot be empty.');
    await expect(form.getByLabel('Title')).toHaveAttribute('aria-invalid', 'true');
    await expect(form.getByLabel('Description (optional)')).toHaveValue('Kept after the error');

    await page.getByText('Edit', { exact: true }).first().click();
    const edit = page.locator('details.task-edit[open] form');
    await edit.getByLabel('Title').fill('Call the plumber about the tap');
    await edit.getByRole('button', { name: 'Save changes' }).click();
    await expect(page.getByRole('checkbox', { name: 'Call the plumber about the tap' })).toBeVisible();

    await page.getByRole('button', { name: 'Delete “Call the plumber about the tap”' }).click();
    await expect(page.locator('.task-title')).toHaveText(['Water the tomatoes']);
    expect(errors).toEqual([]);
  });
});

test.describe('the assistant and the Tasks page', () => {
  test('the assistant adds a task with a tool call, the Tasks page ticks it off, the assistant sees it done', async ({ page }) => {
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await signUp(page, uniqueEmail());
    await page.getByRole('textbox', { name: 'Message' }).fill('Add a task to water the tomatoes');
    await page.getByRole('textbox', { name: 'Message' }).press('Enter');
    const reply = page.getByRole('article', { name: 'Assistant reply' }).last();
    await expect(reply).toContainText('Added the task “water the tomatoes” to your list.');

    // The call is shown with the reply, folded: what was called, with what, and what it answered.
    const tools = reply.getByRole('list', { name: 'Tools used' });
    await expect(tools.locator('pre').first()).toBeHidden();
    await tools.getByText('Used add_task').click();
    await expect(tools.locator('pre').first()).toContainText('"title": "water the tomatoes"');
    await expect(tools.locator('pre').nth(1)).toContainText('"completed": false');

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Tasks' }).click();
    await page.getByRole('checkbox', { name: 'water the tomatoes' }).check();
    await expect(page.locator('li.task.done')).toHaveCount(1);

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Chats' }).click();
    await page.getByRole('textbox', { name: 'Message' }).fill('What are my tasks?');
    await page.getByRole('textbox', { name: 'Message' }).press('Enter');
    await expect(page.getByRole('article', { name: 'Assistant reply' }).last()).toContainText('[done] water the tomatoes');
    expect(errors).toEqual([]);
  });
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('the Tasks page works as plain forms', async ({ page }) => {
    await signUp(page, uniqueEmail());
    await page.goto('/tasks');
    await addTask(page, 'Renew the passport');
    const box = page.getByRole('checkbox', { name: 'Renew the passport' });
    await expect(box).not.toBeChecked();
    await box.check();
    await page.getByRole('button', { name: 'Save “Renew the passport”' }).click();
    await expect(page.getByRole('checkbox', { name: 'Renew the passport' })).toBeChecked();

    // A refused title comes back from the server, next to the field.
    await addTask(page, '   ');
    await expect(page.locator('#task-title-errors')).toHaveText('Title cannot be empty.');

    await page.getByRole('button', { name: 'Delete “Renew the passport”' }).click();
    await expect(page.getByText('No tasks yet.')).toBeVisible();
  });
});
