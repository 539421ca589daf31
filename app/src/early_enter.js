// Enter in a message composer sends it (Shift+Enter still makes a new line), from the moment the page is
// shown: the form is posted as the plain form it is, or, once the WASM is in, posted in place by the app's
// form enhancement. A composer an island handles itself (an open conversation, once hydrated) prevents the
// default first, and this does nothing. Inlined into every page with the response's CSP nonce, so it runs
// before the first keystroke can arrive, with no request of its own.
document.addEventListener('keydown', (event) => {
  if (event.key !== 'Enter' || event.shiftKey || event.isComposing || event.defaultPrevented) return;
  const field = event.target;
  if (!(field instanceof HTMLTextAreaElement) || !field.form || !field.form.classList.contains('composer')) return;
  event.preventDefault();
  // One post per message: a held or repeated Enter while it is on its way does nothing more. The form
  // enhancement makes the field writable again if the post is refused.
  if (field.value.trim() === '' || field.readOnly || field.form.hasAttribute('data-submitting')) return;
  field.readOnly = true;
  field.form.requestSubmit();
});
