/** Headless Chromium from Debian's `chromium` package (hack/setup.d), driven by playwright-core. */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

const ROOT = resolve(new URL('../..', import.meta.url).pathname);

/** Test artefacts: one PNG per page, kept after the run (.custos/ is gitignored). */
export const SCREENSHOT_DIR = join(ROOT, '.custos', 'screenshots');

export function chromiumPath(): string {
  const path = process.env.CUSTOS_CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(path)) throw new Error(`${path} is missing: run hack/test-deps.sh (installs Debian's chromium)`);
  return path;
}

export async function launchChromium(): Promise<Browser> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  // The tests run as root in CI, where Chromium's sandbox cannot start.
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: ['--no-sandbox'] });
}
