import { test } from 'vitest';
import assert from 'node:assert/strict';
import { html } from './html.ts';

test('attacker-controlled text (a key label) is escaped, markup built by html`` is not', () => {
  const label = '<script>alert("x")</script>&\'';
  const inner = html`<b>${1}</b>`;
  const out = html`<td>${label}</td>
    ${[inner, null, undefined, false]}`.text;
  assert.equal(
    out.replace(/>\s+</g, '><'),
    '<td>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;</td><b>1</b>',
  );
});
