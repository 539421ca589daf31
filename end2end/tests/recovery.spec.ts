import { test, expect, Page } from '@playwright/test';
import * as fs from 'node:fs';
import { PASSWORD, linkIn, logIn, mailTo, signUp, uniqueEmail } from './support';

const NEW_PASSWORD = 'Brand-new-pass-42';

/** Forgot password → the link from the outbox → a new password → log in with it (and not the old one). */
async function recoverAccount(page: Page) {
  const email = uniqueEmail();
  await signUp(page, email);
  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page).toHaveURL(/\/login/);

  await page.getByRole('link', { name: 'Forgot password?' }).click();
  await expect(page).toHaveURL(/\/forgot-password$/);
  await page.getByLabel('Email').fill(email);
  await page.getByRole('button', { name: 'Send reset link' }).click();
  await expect(page.getByRole('status')).toContainText('If an account exists for that address');

  const mail = await mailTo(email, 1, '/reset-password?token=');
  await page.goto(linkIn(mail, '/reset-password'));
  await expect(page.getByRole('heading', { name: 'Choose a new password' })).toBeVisible();
  await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
  await page.getByLabel('Confirm new password').fill(NEW_PASSWORD);
  await page.getByRole('button', { name: 'Set new password' }).click();

  await expect(page).toHaveURL(/\/login\?reset=1$/);
  await expect(page.getByRole('status')).toContainText('Your password was changed');
  await logIn(page, email, PASSWORD);
  await expect(page.getByRole('alert')).toHaveText('The email or password is incorrect.');
  await logIn(page, email, NEW_PASSWORD);
  await expect(page).toHaveURL(/\/chat$/);
  return mail;
}

/** Two browsers signed in as one user; the first ends the second's session from the account page. */
async function endOtherSession(mine: Page, javaScriptEnabled: boolean) {
  const email = uniqueEmail();
  await signUp(mine, email);
  // A second browser: a context of its own (its own cookies), as the config's pages are.
  const otherContext = await mine.context().browser()!.newContext({ baseURL: test.info().project.use.baseURL, javaScriptEnabled });
  const other = await otherContext.newPage();
  await other.goto('/login');
  await logIn(other, email);
  await expect(other).toHaveURL(/\/chat$/);

  await mine.goto('/account');
  const sessions = mine.locator('.session-list > li');
  await expect(sessions).toHaveCount(2);
  await expect(sessions.filter({ hasText: 'This browser' })).toHaveCount(1);
  const otherItem = sessions.filter({ hasNotText: 'This browser' });
  await otherItem.getByRole('button', { name: /^End session/ }).click();
  await expect(mine.getByRole('status')).toContainText('That session was ended');
  await expect(mine.locator('.session-list > li')).toHaveCount(1);

  // The other browser is signed out at once; this one is not.
  await other.goto('/account');
  await expect(other).toHaveURL(/\/login\?next=\/account$/);
  await mine.reload();
  await expect(mine.getByRole('heading', { name: 'Account', exact: true })).toBeVisible();
  await otherContext.close();
}

test.describe('with JavaScript', () => {
  test('forgot password: the emailed link sets a new password, once', async ({ page }) => {
    const mail = await recoverAccount(page);
    // The link is used up.
    await page.goto(linkIn(mail, '/reset-password'));
    await page.getByLabel('New password', { exact: true }).fill('Another-pass-77');
    await page.getByLabel('Confirm new password').fill('Another-pass-77');
    await page.getByRole('button', { name: 'Set new password' }).click();
    await expect(page.getByRole('alert')).toContainText('not valid any more');
  });

  test('the emailed verification link verifies the address', async ({ page }) => {
    const email = uniqueEmail();
    await signUp(page, email);
    await page.goto('/account');
    await expect(page.getByText('Not verified')).toBeVisible();

    await page.goto(linkIn(await mailTo(email, 1, '/verify-email?token='), '/verify-email'));
    await expect(page.getByRole('status')).toHaveText('Your email is verified. Thank you!');
    await page.getByRole('link', { name: 'Go to your account' }).click();
    await expect(page.getByText('Verified', { exact: true })).toBeVisible();
    await expect(page.getByRole('button', { name: 'Send verification link' })).toHaveCount(0);
  });

  test('an email change applies after the link sent to the new address', async ({ page }) => {
    const [email, next] = [uniqueEmail(), uniqueEmail()];
    await signUp(page, email);
    await page.goto('/account');
    await page.getByLabel('New email').fill(next);
    await page.getByLabel('Your password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Change email' }).click();
    await expect(page.getByRole('status')).toContainText('Check your inbox');
    await expect(page.getByText(`Signed in as ${email}`)).toBeVisible();

    await page.goto(linkIn(await mailTo(next, 1, '/verify-email?token='), '/verify-email'));
    await expect(page.getByRole('status')).toHaveText('Your email is verified. Thank you!');
    await page.goto('/account');
    await expect(page.getByText(`Signed in as ${next}`)).toBeVisible();
  });

  test('ending another session from the list signs that browser out', async ({ page }) => {
    await endOtherSession(page, true);
  });

  test('the export downloads as JSON and as a zip', async ({ page }) => {
    const email = uniqueEmail();
    await signUp(page, email);
    await page.goto('/account');

    const [json] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download as JSON' }).click()]);
    expect(json.suggestedFilename()).toMatch(/^parley-export-\d{4}-\d{2}-\d{2}\.json$/);
    const exported = JSON.parse(fs.readFileSync(await json.path(), 'utf8'));
    expect(exported.user.email).toBe(email);
    expect(exported.conversations).toEqual([]);

    const [zip] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download as Markdown (zip)' }).click()]);
    expect(zip.suggestedFilename()).toMatch(/\.zip$/);
    // An empty archive is the 22-byte end record, starting "PK\x05\x06".
    const bytes = fs.readFileSync(await zip.path());
    expect(bytes.subarray(0, 4)).toEqual(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  });
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('forgot password works as plain forms', async ({ page }) => {
    await recoverAccount(page);
  });

  test('the sessions list ends another session as a plain form', async ({ page }) => {
    await endOtherSession(page, false);
  });
});
