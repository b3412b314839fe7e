/**
 * Which methods each registered path serves, so a known path with an unsupported method answers
 * 405 with `Allow` (RFC 9110 section 15.5.6) instead of 404.
 */

/** `/api/v1/keys/:key_id/sign` -> a regex matching one concrete path of that shape. */
function patternOf(url: string): RegExp {
  const escaped = url
    .split('/')
    .map((part) => (part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${escaped}$`);
}

export function createMethodIndex() {
  const routes: { pattern: RegExp; methods: Set<string> }[] = [];
  /** Paths without parameters: `GET /api/v1/keys/generate` must not fall through to `/api/v1/keys/:key_id`. */
  const statics = new Map<string, Set<string>>();
  return {
    add(url: string, method: string | string[]) {
      const pattern = patternOf(url);
      let entry = routes.find((r) => r.pattern.source === pattern.source);
      if (!entry) routes.push((entry = { pattern, methods: new Set() }));
      for (const m of [method].flat()) entry.methods.add(m.toUpperCase());
      if (!url.includes(':')) {
        const set = statics.get(url) ?? new Set<string>();
        for (const m of [method].flat()) set.add(m.toUpperCase());
        statics.set(url, set);
      }
    },
    /** Methods a parameterless route serves on exactly `path` (empty when none). */
    staticAllowed(path: string): string[] {
      return [...(statics.get(path) ?? [])].sort();
    },
    /** Methods served on `path`, sorted; empty when no route has that path. */
    allowed(path: string): string[] {
      const methods = new Set<string>();
      for (const r of routes) if (r.pattern.test(path)) r.methods.forEach((m) => methods.add(m));
      return [...methods].sort();
    },
  };
}
