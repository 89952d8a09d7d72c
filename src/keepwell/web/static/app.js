// Keepwell's own script (no inline script: the Content-Security-Policy forbids it).
// Every htmx request carries the session's CSRF token from <meta name="csrf-token">, so a
// button with hx-post outside a form is accepted like a form with its hidden csrf_token.
document.addEventListener("htmx:config:request", (event) => {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) event.detail.ctx.request.headers["X-CSRF-Token"] = meta.content;
});

// A form sent again loses the messages of its last try.
document.addEventListener("htmx:before:request", (event) => {
  const form = event.target instanceof Element ? event.target.closest("form") : null;
  if (!form) return;
  for (const slot of form.querySelectorAll(".field-error, .form-error")) slot.textContent = "";
  for (const field of form.querySelectorAll("[aria-invalid]")) field.removeAttribute("aria-invalid");
});

// After a swap: a field with a message beside it (the server's refusal, in its
// #FORM-FIELD-error slot) is marked invalid and takes the focus; else what was done (an
// element with data-focus: "Resolved.", the page's "Next step set.") takes it, so the
// keyboard goes on from there rather than from the top of the page.
function settleFocus() {
  const refused = [...document.querySelectorAll(".field-error")].filter((slot) => slot.textContent.trim());
  for (const slot of refused) {
    const field = document.querySelector(`[aria-describedby~="${slot.id}"]`);
    if (field) field.setAttribute("aria-invalid", "true");
  }
  const first = refused.length ? document.querySelector(`[aria-describedby~="${refused[0].id}"]`) : null;
  if (first) {
    first.focus();
    return;
  }
  const done = document.querySelector("[data-focus]");
  if (done) {
    done.removeAttribute("data-focus");
    done.focus();
  }
}
document.addEventListener("htmx:after:swap", settleFocus);
document.addEventListener("DOMContentLoaded", settleFocus);
