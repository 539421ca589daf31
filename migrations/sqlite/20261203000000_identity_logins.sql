-- An identity provider's tokens sign in as an API login of their own, so the sessions list shows them and
-- "End session", "sign out everywhere" and a password reset end them: tokens issued before the login
-- ended are refused; a newer token (the person signed in at the provider again) starts a new login.
ALTER TABLE external_identities ADD COLUMN login_id BLOB;
