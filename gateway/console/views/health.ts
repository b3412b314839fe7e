/** Cluster health: the gateway's readiness and each node as the coordinator sees it. */
import type { z } from 'zod';
import type { ReadyResponseSchema } from '../../../common/api/schemas.ts';
import { html } from './html.ts';
import { page, type Viewer } from './layout.ts';

type Ready = z.infer<typeof ReadyResponseSchema>;

const yesNo = (v: boolean, good: boolean) =>
  html`<span class="${v === good ? 'ok' : 'bad'}">${v ? 'yes' : 'no'}</span>`;

export function healthPage(viewer: Viewer, ready: Ready, checkedAt: string): string {
  const rows = ready.nodes.map(
    (n) =>
      html`<tr>
        <th scope="row">${n.node_id}</th>
        <td>${yesNo(n.reachable, true)}</td>
        <td>${yesNo(n.sealed, false)}</td>
        <td>${n.share_count}</td>
        <td>${n.gg18_preparams_ready}</td>
        <td>${n.version || '—'}</td>
      </tr>`,
  );
  return page(
    viewer,
    '/health',
    'Cluster health',
    html`<dl class="facts">
        <dt>Gateway ready</dt>
        <dd>
          ${yesNo(ready.ready, true)}
          <span class="muted">(quorum: ${ready.quorum} of ${ready.nodes.length} nodes reachable and unsealed)</span>
        </dd>
        <dt>Checked at</dt>
        <dd><time datetime="${checkedAt}">${checkedAt}</time></dd>
      </dl>
      <table>
        <caption class="muted">
          TSS nodes
        </caption>
        <thead>
          <tr>
            <th scope="col">Node</th>
            <th scope="col">Reachable</th>
            <th scope="col">Sealed</th>
            <th scope="col">Shares</th>
            <th scope="col">GG18 pre-params ready</th>
            <th scope="col">Version</th>
          </tr>
        </thead>
        <tbody>
          ${rows}
        </tbody>
      </table>
      <p><a class="button" href="/health">Refresh</a></p>`,
  );
}
