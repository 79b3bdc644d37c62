// The Qdrant web console operators use (/dashboard/, served by the real server
// from ../shared/qdrant/static), driven in Debian's chromium: two console
// recipes of consumer/README.md › Querying, pasted as written (placeholders
// filled in) into the Console page and run with its ▶ RUN lens, against entries
// the pipeline (producer SDK -> Kafka -> consumer) just wrote. The answers shown
// must name those entries. A screenshot stays in .run/artifacts/.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { WitnessEntry } from '@witnesslog/schemas';
import { disconnectShared } from '../support/pipeline.js';
import { OLD, witnessLogFixture, type WitnessLogFixture } from '../support/query-fixture.js';
import { repoRoot } from '../../local/services.js';
import { qdrantUrl } from '../support/env.js';

const CHROMIUM = '/usr/bin/chromium';
const engine = process.env.WITNESSLOG_QDRANT_ENGINE;
const skip =
  engine !== 'server'
    ? `the stack runs the ${engine ?? 'unknown'} Qdrant engine, which has no web console (the real server is absent or QDRANT_LOCAL=1)`
    : !existsSync(CHROMIUM)
      ? `${CHROMIUM} is missing (bash local/setup.sh installs Debian's chromium where the real server is present)`
      : process.env.QDRANT_API_KEY
        ? 'QDRANT_API_KEY is set: the console would ask for the key in a dialog'
        : false;

/** A ```http recipe of the README whose prose above it matches `about`, with placeholders filled. */
function recipe(about: RegExp, fill: Record<string, string>, collection: string): string {
  const text = readFileSync(join(repoRoot, 'consumer/README.md'), 'utf8');
  for (const m of text.matchAll(/([^\n]+(?:\n[^\n]+)*)\n\n```http\n(\w+ \S+\n[\s\S]*?)```/g)) {
    if (!about.test(m[1]!.replace(/\s+/g, ' '))) continue;
    let block = m[2]!.replace('collections/witness_log/', `collections/${collection}/`);
    for (const [k, v] of Object.entries(fill)) block = block.split(k).join(v);
    return block.trim();
  }
  throw new Error(`no recipe in consumer/README.md under a line matching ${about}`);
}

// The skip sits on the test, not the describe: node:test counts a skipped describe as a
// suite, so the summary would say "skipped 0". Hooks still run for a suite whose tests
// are all skipped, hence their own guard.
describe('the Qdrant web console answers the README recipes', () => {
  let log: WitnessLogFixture;
  let entries: WitnessEntry[];

  before(async () => {
    if (skip) return;
    log = await witnessLogFixture('console', 36);
    entries = log.entries;
  });

  after(async () => {
    if (skip) return;
    await log?.cleanup();
    await disconnectShared();
  });

  test('a session timeline and similar failed requests, run in the Console page', { skip }, async () => {
    const { chromium } = await import('playwright-core');
    const origin = entries.find((e, i) => i >= OLD && e.error !== null) ?? entries.find((e) => e.error !== null)!;
    const session = 'session-2';
    const fill = { '<request-id>': origin.request_id, '<session-id>': session };
    const timeline = recipe(/session's timeline/, fill, log.names.collection);
    const similar = recipe(/similar to a given one/, fill, log.names.collection);
    const expectedTimeline = entries
      .filter((e) => e.session_id === session)
      .sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp))
      .map((e) => e.request_id);
    const failed = new Set(entries.filter((e) => e.error !== null).map((e) => e.request_id));

    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1600, height: 2400 } });
      // The console keeps its editor text in localStorage: the recipes are put there as an operator would paste them.
      await page.addInitScript((code) => localStorage.setItem('qwuiConsoleCode', code), `${timeline}\n\n${similar}\n`);
      await page.goto(`${qdrantUrl}/dashboard/#/console`);
      const lenses = page.getByText('▶ RUN');
      await lenses.nth(1).waitFor({ timeout: 30_000 });

      // Each ▶ RUN sends the block it stands above; the answer is what the console received, and it must show it.
      const run = async <T>(i: number, path: string, shown: (result: T) => string): Promise<T> => {
        const answer = page.waitForResponse((r) => r.url().endsWith(path) && r.request().method() === 'POST');
        await lenses.nth(i).click();
        const { result } = (await (await answer).json()) as { result: T };
        const text = shown(result);
        await page.waitForFunction((t) => document.querySelectorAll('.view-lines')[1]?.textContent?.includes(t), text, { timeout: 10_000 });
        return result;
      };

      type Points = { points: Array<{ id: string; payload: { request_id: string } }> };
      const shownTimeline = await run<Points>(0, '/points/scroll', (r) => r.points[0]?.payload.request_id ?? 'nothing');
      assert.deepEqual(shownTimeline.points.map((p) => p.payload.request_id), expectedTimeline, 'the timeline is the session, oldest first');

      const shownSimilar = await run<Points>(1, '/points/query', (r) => r.points[0]?.payload.request_id ?? 'nothing');
      assert.equal(shownSimilar.points.length, Math.min(10, failed.size - 1), 'every other failed request, up to the limit');
      for (const p of shownSimilar.points) {
        assert.ok(failed.has(p.payload.request_id) && p.id !== origin.request_id, `${p.payload.request_id} is another failed request`);
      }

      const dir = join(repoRoot, '.run', 'artifacts');
      mkdirSync(dir, { recursive: true });
      await page.screenshot({ path: join(dir, 'qdrant-console.png') });
    } finally {
      await browser.close();
    }
  });
});
