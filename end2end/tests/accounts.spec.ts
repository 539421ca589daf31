import { test, expect } from '@playwright/test';
import { OwnServer, PASSWORD, logIn, signUp, uniqueEmail } from './support';

test.describe('with JavaScript', () => {
  test('sign up lands signed in; log out sends protected pages to login', async ({ page }) => {
    const email = uniqueEmail();
    await signUp(page, email);
    await expect(page.getByRole('heading', { name: 'Your conversations' })).toBeVisible();
    await expect(page.getByRole('navigation', { name: 'Main' })).toContainText('Ada');

    await page.getByRole('button', { name: 'Log out' }).click();
    await expect(page).toHaveURL(/\/login/);
    await expect(page.getByRole('link', { name: 'Log in' })).toBeVisible();

    await page.goto('/account');
    await expect(page).toHaveURL(/\/login\?next=\/account$/);
  });

  test('a wrong password and an unknown email show the same generic error', async ({ page }) => {
    const email = uniqueEmail();
    await signUp(page, email);
    await page.getByRole('button', { name: 'Log out' }).click();
    await expect(page).toHaveURL(/\/login/);

    await logIn(page, email, 'Wrong-password-1');
    const alert = page.getByRole('alert');
    await expect(alert).toHaveText('The email or password is incorrect.');
    await expect(alert).toBeFocused();

    await logIn(page, uniqueEmail(), PASSWORD);
    await expect(page.getByRole('alert')).toHaveText('The email or password is incorrect.');
  });

  test('a duplicate email is reported next to the field with a way to log in', async ({ page }) => {
    const email = uniqueEmail();
    await signUp(page, email);
    await page.getByRole('button', { name: 'Log out' }).click();
    await expect(page).toHaveURL(/\/login/);

    await page.goto('/signup');
    await page.getByLabel('Email').fill(email.toUpperCase());
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByLabel('Confirm password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();

    const emailField = page.getByLabel('Email');
    await expect(emailField).toHaveAttribute('aria-invalid', 'true');
    await expect(page.locator('#signup-email-errors')).toHaveText('This email is already registered.');
    await expect(emailField).toBeFocused();
    await page.getByRole('link', { name: 'Log in instead' }).click();
    await expect(page).toHaveURL(/\/login$/);
  });

  test('submit stays blocked until every password rule is met', async ({ page }) => {
    await page.goto('/signup');
    const submit = page.getByRole('button', { name: 'Create account' });
    await expect(submit).toBeDisabled();
    const password = page.getByLabel('Password', { exact: true });
    await password.fill('abcdefgh');
    await expect(submit).toBeDisabled();
    await password.fill('Abcdefgh');
    await expect(submit).toBeDisabled();
    await password.fill('Abcdefg1');
    await expect(submit).toBeEnabled();
  });

  test('login follows a relative next and ignores an external one', async ({ page }) => {
    const email = uniqueEmail();
    await signUp(page, email);
    await page.getByRole('button', { name: 'Log out' }).click();
    await expect(page).toHaveURL(/\/login/);

    await page.goto('/account');
    await expect(page).toHaveURL(/\/login\?next=\/account$/);
    await logIn(page, email);
    await expect(page).toHaveURL(/\/account$/);
    await expect(page.getByRole('heading', { name: 'Account', level: 1 })).toBeVisible();

    await page.getByRole('button', { name: 'Log out' }).click();
    await expect(page).toHaveURL(/\/login/);
    await page.goto('/login?next=https://evil.example/');
    await logIn(page, email);
    await expect(page).toHaveURL(/^http:\/\/127\.0\.0\.1:\d+\/chat$/);
  });

  test('custom instructions are saved on the account page and kept', async ({ page }) => {
    await signUp(page, uniqueEmail());
    await page.getByRole('link', { name: 'Account' }).click();
    const instructions = page.getByLabel('Instructions', { exact: true });
    await expect(instructions).toHaveValue('');
    await instructions.fill('I am learning Rust; answer with short examples.');
    await page.getByRole('button', { name: 'Save instructions' }).click();
    await expect(page.getByRole('status')).toContainText('Your instructions were saved.');
    await page.reload();
    await expect(page.getByLabel('Instructions', { exact: true })).toHaveValue('I am learning Rust; answer with short examples.');
  });

  test('the account page changes the display name and the password', async ({ page }) => {
    const email = uniqueEmail();
    await signUp(page, email);
    await page.getByRole('link', { name: 'Account' }).click();

    await page.getByLabel('Display name', { exact: true }).fill('Grace');
    await page.getByRole('button', { name: 'Save display name' }).click();
    await expect(page.getByRole('status')).toHaveText('Your display name was saved.');
    await expect(page.getByRole('navigation', { name: 'Main' })).toContainText('Grace');

    await page.getByLabel('Current password').fill('Not-my-password-1');
    await page.getByLabel('New password', { exact: true }).fill('Another-pass-2');
    await page.getByLabel('Confirm new password').fill('Another-pass-2');
    await page.getByRole('button', { name: 'Change password' }).click();
    await expect(page.locator('#account-current-password-errors')).toHaveText('The current password is incorrect.');

    await page.getByLabel('Current password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Change password' }).click();
    await expect(page.getByRole('status')).toContainText('Your password was changed.');

    await page.getByRole('button', { name: 'Log out' }).click();
    await expect(page).toHaveURL(/\/login/);
    await logIn(page, email, 'Another-pass-2');
    await expect(page).toHaveURL(/\/chat$/);
  });

  test('deleting the account signs out and the email can sign up again', async ({ page }) => {
    const email = uniqueEmail();
    await signUp(page, email);
    await page.goto('/account');
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Delete my account' }).click();
    await expect(page).toHaveURL(/\/$/);
    await expect(page.getByRole('link', { name: 'Log in' })).toBeVisible();
    await signUp(page, email);
  });
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('sign up, log out and log in work as plain form posts', async ({ page }) => {
    const email = uniqueEmail();
    await signUp(page, email);
    await page.getByRole('button', { name: 'Log out' }).click();
    await expect(page).toHaveURL(/\/login/);
    await logIn(page, email);
    await expect(page).toHaveURL(/\/chat$/);
    await expect(page.getByRole('button', { name: 'Log out' })).toBeVisible();
  });

  test('a weak password posted straight to the server is refused with the reasons', async ({ page }) => {
    const email = uniqueEmail();
    await page.goto('/signup');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password', { exact: true }).fill('abc');
    await page.getByLabel('Confirm password').fill('abc');
    await page.getByRole('button', { name: 'Create account' }).click();

    await expect(page).toHaveURL(/\/signup/);
    await expect(page.locator('#signup-password-errors')).toContainText('Password must be 8 to 128 characters long.');
    await expect(page.getByRole('link', { name: 'Log in' }).first()).toBeVisible();
    await page.goto('/chat');
    await expect(page).toHaveURL(/\/login\?next=\/chat$/);
  });

  test('a wrong password shows the generic error', async ({ page }) => {
    await page.goto('/login');
    await logIn(page, uniqueEmail(), 'Wrong-password-1');
    await expect(page.getByRole('alert')).toHaveText('The email or password is incorrect.');
  });
});

test.describe('with a server of its own', () => {
  test('a session survives a server restart', async ({ page }) => {
    const server = new OwnServer();
    await server.start();
    try {
      const email = uniqueEmail();
      await page.goto(`${server.url}/signup`);
      await page.getByLabel('Email').fill(email);
      await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
      await page.getByLabel('Confirm password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Create account' }).click();
      await expect(page).toHaveURL(/\/chat$/);

      expect(await server.stop()).toBe(0);
      await server.start();

      await page.goto(`${server.url}/account`);
      await expect(page).toHaveURL(/\/account$/);
      await expect(page.getByRole('main').getByText(email)).toBeVisible();
    } finally {
      await server.stop();
    }
  });

  test('the login form says how long to wait when rate limited', async ({ page }) => {
    const server = new OwnServer({ PARLEY_RATE_LIMIT_LOGIN_FAILURES: '2' });
    await server.start();
    try {
      const email = uniqueEmail();
      await page.goto(`${server.url}/login`);
      for (let attempt = 0; attempt < 2; attempt++) {
        await logIn(page, email, 'Wrong-password-1');
        await expect(page.getByRole('alert')).toHaveText('The email or password is incorrect.');
      }
      await logIn(page, email, 'Wrong-password-1');
      await expect(page.getByRole('alert')).toHaveText(/Too many attempts\. Please wait \d+ seconds and try again\./);
    } finally {
      await server.stop();
    }
  });
});
