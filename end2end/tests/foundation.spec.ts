import { test, expect } from '@playwright/test';
import { holdHydration } from './support';

test.describe('with JavaScript', () => {
  test('the home page renders with its title', async ({ page }) => {
    await page.goto('/');
    await expect(page).toHaveTitle('Parley');
    await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
    await expect(page.getByRole('navigation', { name: 'Main' })).toBeVisible();
  });

  test('the signup checklist follows what the user types (proves hydration)', async ({ page }) => {
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto('/signup');
    await expect(page).toHaveTitle('Sign up · Parley');
    const password = page.getByLabel('Password', { exact: true });
    const rules = page.locator('#signup-password-rules li');
    const submit = page.getByRole('button', { name: 'Create account' });

    // Once hydrated, the submit button waits for the policy to be met.
    await expect(submit).toBeDisabled();

    await password.pressSequentially('abc');
    await expect(rules.filter({ hasText: '8 to 128 characters' })).toContainText('(not met)');
    await expect(rules.filter({ hasText: 'A lowercase letter' })).toContainText('(met)');
    await expect(rules.filter({ hasText: 'An uppercase letter' })).toContainText('(not met)');
    await expect(rules.filter({ hasText: 'A digit' })).toContainText('(not met)');
    await expect(submit).toBeDisabled();

    await password.fill('');
    await password.pressSequentially('Abcdefg1');
    for (const rule of ['8 to 128 characters', 'A lowercase letter', 'An uppercase letter', 'A digit']) {
      await expect(rules.filter({ hasText: rule })).toHaveAttribute('data-met', 'true');
    }
    await expect(submit).toBeEnabled();
    expect(errors).toEqual([]);
  });

  test('a password typed before the page hydrates is checked once it does', async ({ page }) => {
    const hydration = await holdHydration(page);
    await page.goto('/signup', { waitUntil: 'domcontentloaded' });
    await page.getByLabel('Password', { exact: true }).fill('abc');
    hydration.release();
    const rules = page.locator('#signup-password-rules li');
    await expect(rules.filter({ hasText: 'A lowercase letter' })).toContainText('(met)');
    await expect(rules.filter({ hasText: '8 to 128 characters' })).toContainText('(not met)');
    await expect(page.getByRole('button', { name: 'Create account' })).toBeDisabled();
  });

  test('every input on the signup page has a label', async ({ page }) => {
    await page.goto('/signup');
    for (const name of ['Email', 'Display name (optional)', 'Password', 'Confirm password']) {
      await expect(page.getByLabel(name, { exact: true })).toBeVisible();
    }
  });

  test('an unknown path shows the 404 page', async ({ page }) => {
    const response = await page.goto('/this/page/does/not/exist');
    expect(response?.status()).toBe(404);
    await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
    await page.getByRole('link', { name: 'Go to the home page' }).click();
    await expect(page).toHaveURL('/');
  });
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('the signup page is served complete, form included', async ({ page }) => {
    await page.goto('/signup');
    await expect(page.getByRole('heading', { name: 'Create your account' })).toBeVisible();
    await expect(page.getByLabel('Email')).toBeVisible();
    await expect(page.getByLabel('Password', { exact: true })).toBeVisible();
    await expect(page.getByLabel('Confirm password')).toBeVisible();
    await expect(page.locator('#signup-password-rules li')).toHaveCount(4);
    await expect(page.getByRole('button', { name: 'Create account' })).toBeEnabled();
  });
});
