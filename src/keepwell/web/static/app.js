// Keepwell's own script (no inline script: the Content-Security-Policy forbids it).
// Every htmx request carries the session's CSRF token from <meta name="csrf-token">, so a
// button with hx-post outside a form is accepted like a form with its hidden csrf_token.
document.addEventListener("htmx:config:request", (event) => {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) event.detail.ctx.request.headers["X-CSRF-Token"] = meta.content;
});
