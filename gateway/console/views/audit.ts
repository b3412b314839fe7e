/** Audit: filtered entries, chain verification, export. */
import { AUDIT_OPERATIONS } from '../../audit/chain.ts';
import type { AuditVerification } from '../../audit/verify.ts';
import type { AuditRow } from '../../db/schema.ts';
import type { AuditFilter } from '../audit-view.ts';
import { html, type SafeHtml } from './html.ts';
import { csrfField, notice, page, type Viewer } from './layout.ts';

function option(value: string, label: string, selected: string | undefined): SafeHtml {
  return html`<option value="${value}" ${selected === value ? html` selected` : ''}>${label}</option>`;
}

export function filterParams(filter: AuditFilter, extra: Record<string, string> = {}): string {
  const entries = Object.entries({ ...filter, ...extra }).filter(([, v]) => v !== undefined && v !== '');
  return new URLSearchParams(entries.map(([k, v]): [string, string] => [k, String(v)])).toString();
}

function verificationNotice(v: AuditVerification | undefined): SafeHtml {
  if (!v) return html``;
  return v.ok
    ? notice(
        'success',
        `Audit chain verified: ${v.entries} entries, ${v.checkpoints} signed checkpoints, no tampering found.`,
      )
    : notice('error', `Audit chain verification FAILED at entry ${v.firstBadSeq}: ${v.reason}`);
}

export function auditPage(
  viewer: Viewer,
  filter: AuditFilter,
  rows: readonly AuditRow[],
  nextBefore: number | undefined,
  verification?: AuditVerification,
): string {
  const body = rows.map(
    (e) =>
      html`<tr>
        <td>${e.seq}</td>
        <td><time datetime="${e.created_time}">${e.created_time}</time></td>
        <td>${e.operation}</td>
        <td class="${e.result === 'SUCCESS' ? 'ok' : 'bad'}">${e.result}</td>
        <td>${e.user_id ?? ''}</td>
        <td>${e.key_id ? html`<a href="/keys/${e.key_id}"><code>${e.key_id}</code></a>` : ''}</td>
        <td>${e.error_code ?? ''}</td>
        <td><code>${e.audit_trail}</code></td>
      </tr>`,
  );
  return page(
    viewer,
    '/audit',
    'Audit log',
    html`${verificationNotice(verification)}
      <form class="inline" method="post" action="/audit/verify">
        ${csrfField(viewer.csrfToken)}
        <button type="submit">Verify the chain</button>
      </form>
      <form class="filters" method="get" action="/audit" role="search" aria-label="Filter audit entries">
        <label for="a-operation"
          >Operation
          <select id="a-operation" name="operation">
            ${option('', 'any', filter.operation ?? '')}${AUDIT_OPERATIONS.map((o) => option(o, o, filter.operation))}
          </select></label
        >
        <label for="a-result"
          >Result
          <select id="a-result" name="result">
            ${option('', 'any', filter.result ?? '')}${['SUCCESS', 'FAILURE', 'REJECTED'].map((r) => option(r, r, filter.result))}
          </select></label
        >
        <label for="a-user"
          >User or access key <input id="a-user" name="user_id" value="${filter.user_id ?? ''}"
        /></label>
        <label for="a-key">Key id <input id="a-key" name="key_id" value="${filter.key_id ?? ''}" /></label>
        <label for="a-from"
          >From (UTC) <input id="a-from" name="from" type="datetime-local" value="${filter.from ?? ''}"
        /></label>
        <label for="a-to"
          >To (UTC) <input id="a-to" name="to" type="datetime-local" value="${filter.to ?? ''}"
        /></label>
        <button type="submit">Filter</button>
        <a class="button secondary" href="/audit/export?${filterParams(filter)}" download>Export JSON lines</a>
      </form>
      <table>
        <thead>
          <tr>
            <th scope="col">Seq</th>
            <th scope="col">Time (UTC)</th>
            <th scope="col">Operation</th>
            <th scope="col">Result</th>
            <th scope="col">User</th>
            <th scope="col">Key</th>
            <th scope="col">Error</th>
            <th scope="col">Trail</th>
          </tr>
        </thead>
        <tbody>
          ${
            body.length
              ? body
              : html`<tr>
                  <td colspan="8" class="muted">No entries match.</td>
                </tr>`
          }
        </tbody>
      </table>
      <nav aria-label="Pages">
        ${filter.before ? html`<a href="/audit?${filterParams({ ...filter, before: undefined })}">Newest</a> ` : ''}${nextBefore ? html`<a rel="next" href="/audit?${filterParams(filter, { before: String(nextBefore) })}">Older entries</a>` : ''}
      </nav>`,
  );
}
