// The web UI in a real browser: the UI is built from web/ by vite, served by the Quiver server
// over the seeded gallery (tests/web/fixture.ts), and driven in Debian's chromium through
// playwright-core, checking each feature as a user would and comparing what the page shows
// with SQL over the same dataset. Every wait is on a DOM condition; screenshots go to
// test-artifacts/web/. Skips (fails under CI=true) only when /usr/bin/chromium is missing.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { build } from 'vite';
import * as quiver from '../../src/index.js';
import { createApp, createToken, serve, type RunningServer } from '../../src/server/index.js';
import { tempDir } from '../helpers/tmp.js';
import { seedGallery, type Gallery } from './fixture.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join('test-artifacts', 'web');
const missing = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing: run bash scripts/servers/chromium.sh up (as root)`;
if (missing && process.env.CI === 'true') throw new Error(`web ui test: ${missing}`);

let dir: string;
let gallery: Gallery;
let server: RunningServer;
let browser: Browser;
let page: Page;
let readToken: string;
let writeToken: string;
let tenantToken: string;

const sql = async (q: string, params: quiver.Param[] = []) => {
  await gallery.ds.refresh();
  return gallery.ds.query(q, params);
};
const countOf = async (where: string) => Number((await sql(`select count(*) as n from dataset where ${where}`))[0].n);
const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, name), fullPage: false });
/** Waits until the grid's count says `n` rows. */
const countIs = (n: number) => page.locator(`[data-testid=count][data-count="${n}"]`).waitFor();
/** Waits until the bars of histogram `name` add up to `n` rows. */
const barsSumTo = (name: string, n: number) =>
  page.waitForFunction(([h, want]) => [...document.querySelectorAll(`[data-hist=${h}] .bar`)].reduce((s, e) => s + Number(e.getAttribute('data-count')), 0) === want, [name, n] as const);
/** The row ids of the cards the grid shows now (not placeholders). */
const gridRows = () => page.locator('[data-testid=grid] .card[data-row]').evaluateAll((els) => els.map((e) => e.getAttribute('data-row')!));

async function setWhere(where: string): Promise<void> {
  await page.locator('[data-testid=where] input').fill(where);
  await page.locator('[data-testid=apply]').click();
}

async function pickOption(select: string, value: string): Promise<void> {
  await page.locator(`[data-testid=${select}]`).click();
  await page.locator(`[data-testid=${select}] sl-option[value="${value}"]`).click();
}

describe('web ui', { skip: missing }, () => {
  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const webDir = tempDir('quiver-web-build-');
    await build({ configFile: join('web', 'vite.config.ts'), logLevel: 'error', build: { outDir: webDir, emptyOutDir: true } });
    dir = tempDir('quiver-web-');
    gallery = await seedGallery(join(dir, 'gallery'));
    readToken = (await createToken(dir, 'viewer', { role: 'read' })).token;
    writeToken = (await createToken(dir, 'rater', { role: 'write' })).token;
    tenantToken = (await createToken(dir, 'u1-viewer', { role: 'read', tenant: 'u1' })).token;
    server = await serve(createApp({ root: dir, webDir }), { port: 0 });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(30_000);
    await page.goto(`${server.url}/?dataset=gallery`);
  });

  async function enterToken(token: string): Promise<void> {
    if (!(await page.locator('sl-dialog[open]').count())) await page.locator('[data-testid=token]').click();
    await page.locator('[data-testid=token-input] input').fill(token);
    await page.locator('[data-testid=token-save]').click();
    await page.locator('sl-dialog[open]').waitFor({ state: 'detached' });
  }
  after(async () => {
    await browser?.close();
    await server?.close();
    await gallery?.ds.close();
  });

  it('asks for a token when the server refuses a request without one', async () => {
    await page.locator('sl-dialog[open] [data-testid=token-input]').waitFor();
    await enterToken(readToken);
  });

  it('shows the rows as a virtualised grid of images with prompt, rating and tags', async () => {
    await countIs(200);
    await page.locator('[data-testid=grid] .card img.thumb').nth(7).waitFor();
    const shown = await gridRows();
    assert.ok(shown.length >= 8 && shown.length < 200, `a window of the 200 rows is in the DOM, got ${shown.length}`);
    const first = await sql('select prompt from dataset order by row_id limit 1');
    assert.equal(await page.locator('[data-testid=grid] .card[data-row="0"] .prompt').textContent(), first[0].prompt);
    await shot('grid.png');
  });

  it('renders the last rows when the grid is scrolled to its end, and drops the first', async () => {
    const [{ id }] = await sql('select max(row_id) as id from dataset');
    await page.locator('[data-testid=grid]').evaluate((el) => el.scrollTo({ top: el.scrollHeight }));
    await page.locator(`[data-testid=grid] .card[data-row="${id}"] img.thumb`).waitFor();
    assert.equal(await page.locator('[data-testid=grid] .card[data-row="0"]').count(), 0);
    await page.locator('[data-testid=grid]').evaluate((el) => el.scrollTo({ top: 0 }));
    await page.locator('[data-testid=grid] .card[data-row="0"]').waitFor();
  });

  it('narrows the grid to the rows a SQL WHERE selects, as many as SQL counts', async () => {
    const where = "rating = 5 and list_contains(tags, 'night')";
    const ids = (await sql(`select row_id from dataset where ${where} order by row_id`)).map((r) => String(r.row_id));
    assert.ok(ids.length > 0 && ids.length <= 12, `the filter leaves a screenful, got ${ids.length}`);
    await setWhere(where);
    await countIs(ids.length);
    await page.locator(`[data-testid=grid] .card[data-row="${ids.at(-1)}"]`).waitFor();
    assert.deepEqual(await gridRows(), ids);
  });

  it('searches the prompts for words, as many rows as SQL finds', async () => {
    await setWhere('');
    await page.locator('[data-testid=search] input').fill('fox');
    await page.locator('[data-testid=apply]').click();
    await countIs(await countOf("prompt ilike '%fox%'"));
    await page.locator('[data-testid=grid] .card[data-row]').first().waitFor();
    for (const p of await page.locator('[data-testid=grid] .card[data-row] .prompt').allTextContents()) assert.match(p, /fox/);
    await page.locator('[data-testid=search] input').fill('');
    await page.locator('[data-testid=apply]').click();
    await countIs(200);
  });

  it('refuses a WHERE that is not SQL with the server message and no rows', async () => {
    await setWhere('rating >>> nonsense');
    await page.locator('[data-testid=error]').waitFor();
    await countIs(0);
    assert.equal((await gridRows()).length, 0);
    await setWhere('');
    await countIs(200);
  });

  it('filters by a rating bar and then by a tag bar of the sidebar histograms', async () => {
    const bar = page.locator('[data-hist=rating] .bar[data-value="3"]');
    assert.equal(Number(await bar.getAttribute('data-count')), await countOf('rating = 3'));
    await bar.click();
    await countIs(await countOf('rating = 3'));
    await page.locator('[data-hist=tags] .bar[data-value="animal"]').click();
    const both = await countOf("rating = 3 and list_contains(tags, 'animal')");
    await countIs(both);
    assert.equal(Number(await page.locator('[data-hist=tags] .bar[data-value="animal"]').getAttribute('data-count')), both);
    await page.locator('[data-hist=rating] .bar[data-value="3"]').click();
    await page.locator('[data-hist=tags] .bar[data-value="animal"]').click();
    await countIs(200);
  });

  it('opens a row with its nearest neighbours, its parent, its children and its columns', async () => {
    const [child] = await sql('select row_id, parent_id from dataset where parent_id is not null order by row_id limit 1');
    const id = String(child.row_id);
    const [{ v }] = await sql(`select image_emb as v from dataset where row_id = ${id}`);
    const nearest = await sql(`select row_id from dataset where row_id <> ${id} order by cosine_similarity(image_emb, $1) desc limit 8`, [v as Float32Array]);
    await setWhere(`row_id = ${id}`);
    await countIs(1);
    await page.locator(`[data-testid=grid] .card[data-row="${id}"]`).click();
    const neighbours = page.locator('[data-testid=neighbours] .card');
    await neighbours.nth(7).waitFor();
    assert.deepEqual(await neighbours.evaluateAll((els) => els.map((e) => e.getAttribute('data-row'))), nearest.map((r) => String(r.row_id)));
    await page.locator(`[data-testid=parent] .card[data-row="${child.parent_id}"]`).waitFor();
    await page.locator('[data-testid=columns] th', { hasText: 'parent_id' }).waitFor();
    await page.locator('[data-testid=neighbours] .card img').nth(7).waitFor();
    await shot('detail.png');
    await page.locator('[data-testid=parent]').scrollIntoViewIfNeeded();
    await shot('detail-lineage.png');
    // The parent lists this row among its children.
    await page.locator(`[data-testid=parent] .card[data-row="${child.parent_id}"]`).click();
    await page.locator(`[data-testid=children] .card[data-row="${id}"]`).waitFor();
  });

  it('refuses feedback with a read token and writes a thumbs-down as rating 1 with a write token', async () => {
    const [row] = await sql('select row_id, rating from dataset where rating > 1 order by row_id limit 1');
    const id = String(row.row_id);
    const hide = () => page.locator('sl-drawer').evaluate((d) => (d as HTMLElement & { hide(): Promise<void> }).hide());
    await hide();
    await setWhere(`row_id = ${id}`);
    await countIs(1);
    await page.locator(`[data-testid=grid] .card[data-row="${id}"]`).click();
    await page.locator('[data-testid=current-rating]', { hasText: /rating: [2-5]/ }).waitFor();
    await page.locator('[data-testid=thumbs-down]:not([disabled])').click();
    await page.locator('[data-testid=error]', { hasText: 'viewer' }).waitFor();
    assert.equal((await sql(`select rating from dataset where row_id = ${id}`))[0].rating, row.rating, 'a read token changes nothing');
    await hide();
    await enterToken(writeToken);
    await page.locator(`[data-testid=grid] .card[data-row="${id}"]`).click();
    await page.locator('[data-testid=thumbs-down]:not([disabled])').click();
    await page.locator('[data-testid=current-rating]', { hasText: 'rating: 1' }).waitFor();
    assert.equal((await sql(`select rating from dataset where row_id = ${id}`))[0].rating, 1);
    assert.match(gallery.ds.version.message, new RegExp(`feedback: row ${id} rating=1`));
    assert.equal(gallery.ds.version.meta?.author, 'rater');
    await hide();
    // The sidebar follows the new version: the row's one row now counts under rating 1.
    await page.locator(`[data-hist=rating] .bar[data-value="1"][data-count="${await countOf(`rating = 1 and row_id = ${id}`)}"]`).waitFor();
  });

  it('shows the tagged version rows when the switcher picks the tag', async () => {
    await setWhere('');
    await pickOption('version', 'tag:v1');
    await countIs(gallery.v1Rows);
    await page.locator('[data-testid=version-info]', { hasText: 'read-only' }).waitFor();
    await pickOption('version', 'branch:main');
    await countIs(200);
  });

  it('lists the commits in the log, the feedback commit first', async () => {
    await page.locator('[data-testid=tab-log]').click();
    const first = page.locator('[data-testid=log] tbody tr').first();
    await first.waitFor();
    assert.equal(await first.getAttribute('data-commit'), gallery.ds.version.id);
    assert.equal(await first.locator('td').nth(4).textContent(), 'rater');
  });

  it('diffs a commit with its parent from the log: the feedback commit changed one rating', async () => {
    await page.locator('[data-testid=log] tbody tr').first().locator('sl-button').click();
    await page.locator('[data-testid=diff-counts][data-added="0"][data-removed="0"][data-changed="1"]').waitFor();
    assert.match(await page.locator('[data-testid=diff] tr[data-change=changed]').textContent() ?? '', /rating: \d → 1/);
  });

  it('lists the rows that differ between two versions in the diff view', async () => {
    await page.locator('[data-testid=tab-diff]').click();
    await pickOption('diff-from', 'branch:main');
    await pickOption('diff-to', 'branch:experiment');
    const d = await gallery.ds.diff('main', 'experiment');
    const expected: string[] = [];
    for await (const r of d.rows()) expected.push(`${r.rowId}:${r.change}`);
    await page.locator(`[data-testid=diff-counts][data-removed="${d.counts.removed}"][data-changed="${d.counts.changed}"]`).waitFor();
    const shown = await page.locator('[data-testid=diff] tr[data-row]').evaluateAll((els) => els.map((e) => `${e.getAttribute('data-row')}:${e.getAttribute('data-change')}`));
    assert.deepEqual(shown, expected);
    for (const id of gallery.experiment.deleted) assert.ok(shown.includes(`${id}:removed`), `row ${id} is listed as removed`);
    await shot('diff.png');
  });

  it('shows a tenant token only its tenant rows, in the grid and the histograms', async () => {
    await page.locator('[data-testid=tab-grid]').click();
    await enterToken(tenantToken);
    const n = await countOf("user_id = 'u1'");
    assert.ok(n > 0 && n < 200);
    await countIs(n);
    await barsSumTo('rating', n);
    const theirs = new Set((await sql("select row_id from dataset where user_id <> 'u1'")).map((r) => String(r.row_id)));
    await page.locator('[data-testid=grid] .card[data-row]').first().waitFor();
    for (const id of await gridRows()) assert.ok(!theirs.has(id), `row ${id} is another tenant's`);
    await page.locator('[data-testid=version] sl-option[value="branch:main"]').waitFor({ state: 'attached' });
  });
});
