/** Keys: the filtered, paginated list; one key's detail; the generate form. */
import { KEY_STATUSES, type Algorithm, type Key, type ListKeysQuery } from '../../../common/api/schemas.ts';
import type { AuditRow } from '../../db/schema.ts';
import { html, type SafeHtml } from './html.ts';
import { csrfField, notice, page, type Viewer } from './layout.ts';

const status = (s: string) => html`<span class="status-${s}">${s}</span>`;

function option(value: string, label: string, selected: string | undefined): SafeHtml {
  return html`<option value="${value}" ${selected === value ? html` selected` : ''}>${label}</option>`;
}

export function keyListPage(
  viewer: Viewer,
  query: ListKeysQuery,
  keys: readonly Key[],
  nextCursor: string | null,
): string {
  const rows = keys.map(
    (k) =>
      html`<tr>
        <td>
          <a href="/keys/${k.key_id}"><code>${k.key_id}</code></a>
        </td>
        <td>${k.label ?? ''}</td>
        <td>${k.format.algo_type}</td>
        <td>${status(k.status)}</td>
        <td>${k.shard_properties.threshold} of ${k.shard_properties.shard_count}</td>
        <td><code>${k.address}</code></td>
        <td><time datetime="${k.created_at}">${k.created_at.replace('T', ' ').slice(0, 19)}</time></td>
      </tr>`,
  );
  const next = nextCursor
    ? new URLSearchParams({
        ...(query.label ? { label: query.label } : {}),
        ...(query.status ? { status: query.status } : {}),
        limit: String(query.limit),
        cursor: nextCursor,
      }).toString()
    : undefined;
  return page(
    viewer,
    '/keys',
    'Keys',
    html`<p><a class="button" href="/keys/new">Generate a key</a></p>
      <form class="filters" method="get" action="/keys" role="search" aria-label="Filter keys">
        <label for="f-label">Label <input id="f-label" name="label" value="${query.label ?? ''}" /></label>
        <label for="f-status"
          >Status
          <select id="f-status" name="status">
            ${option('', 'any', query.status ?? '')}${KEY_STATUSES.map((s) => option(s, s, query.status))}
          </select></label
        >
        <label for="f-limit"
          >Per page
          <select id="f-limit" name="limit">
            ${['10', '20', '50', '100'].map((n) => option(n, n, String(query.limit)))}
          </select></label
        >
        <button type="submit">Filter</button>
      </form>
      <table>
        <thead>
          <tr>
            <th scope="col">Key</th>
            <th scope="col">Label</th>
            <th scope="col">Algorithm</th>
            <th scope="col">Status</th>
            <th scope="col">Threshold</th>
            <th scope="col">Address</th>
            <th scope="col">Created (UTC)</th>
          </tr>
        </thead>
        <tbody>
          ${
            rows.length
              ? rows
              : html`<tr>
                  <td colspan="7" class="muted">No keys match.</td>
                </tr>`
          }
        </tbody>
      </table>
      <nav aria-label="Pages">
        ${query.cursor ? html`<a href="/keys">First page</a> ` : ''}${next ? html`<a href="/keys?${next}" rel="next">Next page</a>` : ''}
      </nav>`,
  );
}

/** Status changes a key in `from` may take: archiving is final. */
function nextStatuses(from: string): string[] {
  return from === 'ARCHIVED' ? [] : KEY_STATUSES.filter((s) => s !== from);
}

export function keyDetailPage(
  viewer: Viewer,
  key: Key,
  signatures: readonly AuditRow[],
  statusChanges: readonly AuditRow[],
  message?: { kind: 'error' | 'success'; text: string },
): string {
  const addresses = Object.entries(key.addresses).map(
    ([chain, address]) =>
      html`<tr>
        <th scope="row">${chain}</th>
        <td><code>${address}</code></td>
      </tr>`,
  );
  const sigRows = signatures.map((e) => {
    const trail = JSON.parse(e.audit_trail) as Record<string, unknown>;
    return html`<tr>
      <td>${e.seq}</td>
      <td><time datetime="${e.created_time}">${e.created_time}</time></td>
      <td>${e.result}</td>
      <td>${e.user_id ?? ''}</td>
      <td>${String(trail.data_type ?? '')}</td>
      <td>${e.node_id ?? ''}</td>
      <td><code>${e.data_hash ?? ''}</code></td>
    </tr>`;
  });
  const changeRows = statusChanges.map((e) => {
    const trail = JSON.parse(e.audit_trail) as Record<string, unknown>;
    return html`<tr>
      <td>${e.seq}</td>
      <td><time datetime="${e.created_time}">${e.created_time}</time></td>
      <td>${e.user_id ?? ''}</td>
      <td>${String(trail.from ?? '')} → ${String(trail.to ?? '')}</td>
      <td>${String(trail.reason ?? '')}</td>
    </tr>`;
  });
  const choices = nextStatuses(key.status);
  const statusForm = choices.length
    ? html`<form
        class="inline"
        method="post"
        action="/keys/${key.key_id}/status"
        data-confirm="Change the status of this key?"
      >
        ${csrfField(viewer.csrfToken)}
        <label for="new-status"
          >New status
          <select id="new-status" name="status">
            ${choices.map((s) => option(s, s, undefined))}
          </select></label
        >
        <label for="reason">Reason <input id="reason" name="reason" maxlength="500" /></label>
        <button type="submit">Change status</button>
      </form>`
    : html`<p class="muted">Archived keys cannot change status.</p>`;
  return page(
    viewer,
    '/keys',
    key.label ? `Key ${key.label}` : `Key ${key.key_id}`,
    html`${message ? notice(message.kind, message.text) : ''}
      <dl class="facts">
        <dt>Key id</dt>
        <dd><code>${key.key_id}</code></dd>
        <dt>Label</dt>
        <dd>${key.label ?? '—'}</dd>
        <dt>Status</dt>
        <dd>${status(key.status)}</dd>
        <dt>Algorithm</dt>
        <dd>${key.format.algo_type} on ${key.format.curve}</dd>
        <dt>Threshold</dt>
        <dd>${key.shard_properties.threshold} of ${key.shard_properties.shard_count}</dd>
        <dt>Shard nodes</dt>
        <dd>${key.shard_nodes.join(', ')}</dd>
        <dt>Public key</dt>
        <dd><code>${key.public_key}</code></dd>
        <dt>Sign policy</dt>
        <dd>
          ${key.sign_policy ? `version ${key.sign_policy.version}: ${key.sign_policy.signers.join(', ')} (quorum ${key.sign_policy.change_quorum})` : 'none'}
        </dd>
        <dt>Created</dt>
        <dd>${key.created_at}</dd>
        <dt>Updated</dt>
        <dd>${key.updated_at}</dd>
      </dl>
      <h2>Change status</h2>
      ${statusForm}
      <h2>Addresses</h2>
      <table>
        <thead>
          <tr>
            <th scope="col">Chain</th>
            <th scope="col">Address</th>
          </tr>
        </thead>
        <tbody>
          ${addresses}
        </tbody>
      </table>
      <h2>Status changes</h2>
      <table>
        <thead>
          <tr>
            <th scope="col">Seq</th>
            <th scope="col">Time</th>
            <th scope="col">By</th>
            <th scope="col">Change</th>
            <th scope="col">Reason</th>
          </tr>
        </thead>
        <tbody>
          ${
            changeRows.length
              ? changeRows
              : html`<tr>
                  <td colspan="5" class="muted">None.</td>
                </tr>`
          }
        </tbody>
      </table>
      <h2>Recent signatures</h2>
      <table>
        <thead>
          <tr>
            <th scope="col">Seq</th>
            <th scope="col">Time</th>
            <th scope="col">Result</th>
            <th scope="col">By</th>
            <th scope="col">Data type</th>
            <th scope="col">Signers</th>
            <th scope="col">Data SHA-256</th>
          </tr>
        </thead>
        <tbody>
          ${
            sigRows.length
              ? sigRows
              : html`<tr>
                  <td colspan="7" class="muted">No signatures yet.</td>
                </tr>`
          }
        </tbody>
      </table>`,
  );
}

export interface GenerateForm {
  algo: string;
  label: string;
  shardCount: number;
  threshold: number;
  idempotencyKey: string;
}

export function generatePage(
  viewer: Viewer,
  algorithms: readonly Algorithm[],
  nodeCount: number,
  form: GenerateForm,
  error?: string,
): string {
  const counts = Array.from({ length: nodeCount }, (_, i) => String(i + 1));
  return page(
    viewer,
    '/keys',
    'Generate a key',
    html`${notice('error', error)}
      <form method="post" action="/keys" class="filters">
        ${csrfField(viewer.csrfToken)}
        <input type="hidden" name="idempotency_key" value="${form.idempotencyKey}" />
        <label for="algo"
          >Algorithm
          <select id="algo" name="algo">
            ${algorithms.map((a) => option(a, a, form.algo))}
          </select></label
        >
        <label for="label">Label <input id="label" name="label" value="${form.label}" maxlength="253" /></label>
        <label for="shard_count"
          >Shards
          <select id="shard_count" name="shard_count">
            ${counts.map((n) => option(n, n, String(form.shardCount)))}
          </select></label
        >
        <label for="threshold"
          >Threshold
          <select id="threshold" name="threshold">
            ${counts.map((n) => option(n, n, String(form.threshold)))}
          </select></label
        >
        <button type="submit">Generate</button>
      </form>
      <p class="muted">
        Key generation runs an MPC session across the shard nodes; GG18 may take minutes when the nodes' pre-params
        pools are empty.
      </p>`,
  );
}
