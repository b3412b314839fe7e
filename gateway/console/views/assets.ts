/**
 * The console's stylesheet and its one script, served from the gateway itself (no CDN). The script
 * only enhances: every page and form works without it.
 */
export const CONSOLE_CSS = `
:root { color-scheme: light; --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --bg: #f6f8fa; --accent: #0a58ca; --bad: #b42318; --good: #1a7f37; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, sans-serif; color: var(--fg); background: #fff; }
a { color: var(--accent); }
:focus-visible { outline: 3px solid #ffbf47; outline-offset: 2px; }
.skip { position: absolute; left: -999px; } .skip:focus { left: 8px; top: 8px; background: #fff; padding: 4px 8px; z-index: 2; }
header { display: flex; align-items: center; gap: 24px; padding: 8px 24px; background: #24292f; color: #fff; }
header a { color: #fff; text-decoration: none; padding: 6px 8px; border-radius: 4px; }
header a[aria-current="page"] { background: #57606a; }
header nav ul { display: flex; gap: 4px; list-style: none; margin: 0; padding: 0; }
header .who { margin-left: auto; display: flex; gap: 12px; align-items: center; }
header form button { background: transparent; color: #fff; border: 1px solid #8c959f; }
main { padding: 16px 24px; max-width: 1280px; }
h1 { font-size: 1.5rem; margin: 8px 0 16px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 16px; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--bg); font-weight: 600; }
code, .mono { font-family: ui-monospace, monospace; font-size: 0.9em; word-break: break-all; }
form.filters, form.inline { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-end; margin: 8px 0 16px; }
label { display: flex; flex-direction: column; gap: 2px; font-weight: 600; font-size: 0.9rem; }
input, select, textarea { font: inherit; padding: 5px 8px; border: 1px solid #8c959f; border-radius: 4px; min-width: 10rem; }
button, .button { font: inherit; padding: 6px 14px; border-radius: 4px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; text-decoration: none; display: inline-block; }
button.secondary { background: #fff; color: var(--accent); }
.status-ACTIVE, .ok { color: var(--good); font-weight: 600; }
.status-FROZEN, .status-ARCHIVED, .bad { color: var(--bad); font-weight: 600; }
.notice { padding: 10px 14px; border-radius: 4px; margin: 8px 0 16px; border: 1px solid; }
.notice.error { border-color: var(--bad); background: #fff1f0; }
.notice.success { border-color: var(--good); background: #effaf1; }
.login { max-width: 360px; margin: 10vh auto; padding: 24px; border: 1px solid var(--line); border-radius: 8px; }
.login form { display: flex; flex-direction: column; gap: 12px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; }
dl.facts dt { font-weight: 600; color: var(--muted); }
dl.facts dd { margin: 0; }
.muted { color: var(--muted); }
`;

/** Asks before a form marked data-confirm is sent; nothing else. */
export const CONSOLE_JS = `
document.addEventListener('submit', (event) => {
  const form = event.target;
  const question = form instanceof HTMLFormElement ? form.dataset.confirm : undefined;
  if (question && !window.confirm(question)) event.preventDefault();
});
`;
