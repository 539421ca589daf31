// What a person does before the WASM bundle has arrived is never lost. Inlined into every page with the
// response's CSP nonce, so it runs before the first keystroke or click can arrive, with no request of its
// own. Each form it submits is posted as the plain form it is, or, once the WASM is in, posted in place by
// the app's form enhancement (app/src/enhance.rs).
//
// Enter in a message composer sends it (Shift+Enter still makes a new line). A composer an island handles
// itself (an open conversation, once hydrated) prevents the default first, and this does nothing.
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

// Ticking a box in a form marked data-submit-on-change (a task's "done" box) saves it at once.
document.addEventListener('change', (event) => {
  const field = event.target;
  if (!(field instanceof HTMLInputElement) || !field.form || !field.form.hasAttribute('data-submit-on-change')) return;
  if (field.form.hasAttribute('data-submitting')) return;
  field.form.requestSubmit();
});
