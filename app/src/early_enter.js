// Until the WASM bundle has hydrated the page, Enter in a message composer sends it as the plain form post
// the composer already is (Shift+Enter still makes a new line), so a message typed on a slow connection is
// never lost to a newline. Once the app has hydrated (it marks <html data-hydrated>), its own handlers take
// over and this does nothing. Inlined into every page with the response's CSP nonce, so it runs before the
// first keystroke can arrive, with no request of its own.
document.addEventListener('keydown', (event) => {
  if (document.documentElement.hasAttribute('data-hydrated')) return;
  if (event.key !== 'Enter' || event.shiftKey || event.isComposing || event.defaultPrevented) return;
  const field = event.target;
  if (!(field instanceof HTMLTextAreaElement) || !field.form || !field.form.classList.contains('composer')) return;
  event.preventDefault();
  const form = field.form;
  // One post per message: a held or repeated Enter while the page is on its way does nothing more.
  if (field.value.trim() === '' || form.dataset.sending) return;
  form.dataset.sending = 'true';
  field.readOnly = true;
  form.requestSubmit();
});
