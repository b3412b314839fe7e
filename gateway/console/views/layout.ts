/** The page frame: skip link, navigation, who is logged in, logout (a CSRF-protected POST). */
import { html, type SafeHtml } from './html.ts';

/**
 * The console's sections, in navigation order. A new section (approvals, policies, access keys once
 * their APIs exist) is one entry here and one route module under routes/.
 */
export const SECTIONS = [
  { path: '/health', title: 'Cluster health' },
  { path: '/keys', title: 'Keys' },
  { path: '/audit', title: 'Audit' },
] as const;

export interface Viewer {
  username: string;
  roles: readonly string[];
  csrfToken: string;
}

export function csrfField(csrfToken: string): SafeHtml {
  return html`<input type="hidden" name="_csrf" value="${csrfToken}" />`;
}

export function document(title: string, body: SafeHtml): string {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title} · Custos console</title>
        <link rel="stylesheet" href="/console.css" />
        <script src="/console.js" defer></script>
      </head>
      <body>
        ${body}
      </body>
    </html>`.text;
}

export function page(viewer: Viewer, current: string, title: string, content: SafeHtml): string {
  const nav = SECTIONS.map(
    (s) => html`<li><a href="${s.path}" ${current === s.path ? html` aria-current="page"` : ''}>${s.title}</a></li>`,
  );
  return document(
    title,
    html`<a class="skip" href="#main">Skip to content</a>
      <header>
        <strong>Custos</strong>
        <nav aria-label="Sections">
          <ul>
            ${nav}
          </ul>
        </nav>
        <div class="who">
          <span>${viewer.username} <span class="muted">(${viewer.roles.join(', ')})</span></span>
          <form method="post" action="/logout">
            ${csrfField(viewer.csrfToken)}<button type="submit">Log out</button>
          </form>
        </div>
      </header>
      <main id="main" tabindex="-1">
        <h1>${title}</h1>
        ${content}
      </main>`,
  );
}

export function notice(kind: 'error' | 'success', text: string | undefined): SafeHtml {
  if (!text) return html``;
  return html`<div class="notice ${kind}" role="${kind === 'error' ? 'alert' : 'status'}">${text}</div>`;
}

export function loginPage(loginToken: string, error?: string): string {
  return document(
    'Log in',
    html`<main id="main" class="login">
      <h1>Custos console</h1>
      ${notice('error', error)}
      <form method="post" action="/login">
        <input type="hidden" name="_login" value="${loginToken}" />
        <label for="username"
          >Username <input id="username" name="username" autocomplete="username" required autofocus
        /></label>
        <label for="password"
          >Password <input id="password" name="password" type="password" autocomplete="current-password" required
        /></label>
        <label for="totp"
          >Authenticator code
          <input
            id="totp"
            name="totp"
            inputmode="numeric"
            pattern="[0-9]{6}"
            maxlength="6"
            autocomplete="one-time-code"
            required
        /></label>
        <button type="submit">Log in</button>
      </form>
    </main>`,
  );
}

export function errorPage(viewer: Viewer | undefined, status: number, message: string): string {
  const content = html`${notice('error', message)}
    <p><a href="/health">Back to the console</a></p>`;
  return viewer
    ? page(viewer, '', `Error ${status}`, content)
    : document(`Error ${status}`, html`<main id="main">${content}</main>`);
}
