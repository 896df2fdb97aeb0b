// The Experiments panel in JupyterLab on `hops lab`, in headless chromium (playwright-core driving Debian's
// /usr/bin/chromium): three runs started through the API (two grid searches, "a" and "b", and one whose second trial
// raises) are listed with their state and best value; a run opens in a view with a line per trial in the metric
// chart, a row per trial in the trials table with the best one marked, the output of a trial on a click, its image
// artifact shown and each artifact linked to its folder in the Project store panel, and the traceback of a failed
// one; two runs selected in the list open in a comparison of their params, best metrics, best trials (an overlaid
// chart) and environments; 50 more runs push the first three to a second page, which More lists. The steps run in
// order on one page; each saves a screenshot in tests/artifacts/web/ (experiments-panel-NN-<step>.png).
//
// Runs against the hops server only (HOPS_WEB_SERVER=hops, the default).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { LabSession, labWaits } from './browser.mjs';
import {
  chromiumAvailability,
  KIND,
  serverAvailability,
  skipUnless,
  waitFor,
} from './harness.mjs';

const requirements = [serverAvailability(), chromiumAvailability()];
const skip = KIND !== 'hops' ? 'the experiments panel end-to-end test runs against hops only' : skipUnless(...requirements);

const UI_TIMEOUT = 60_000;
const RUN_TIMEOUT = 90_000;
const STEP = { timeout: 180_000 };

const CODE = [
  'import hops',
  'for s in range(5):',
  '    hops.log(acc=lr*(s+1), loss=1/(lr*(s+1)))',
  'print("trained with lr", lr)',
  'open(f"curve-{lr}.txt", "w").write(str(lr))',
  'hops.artifact(f"curve-{lr}.txt")',
  'import struct, zlib',
  'def chunk(kind, data):',
  '    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))',
  'width = int(lr * 400)  # a green bar as a PNG, lr * 400 pixels wide',
  'rows = b"".join(b"\\x00" + b"\\x2e\\x7d\\x32" * width for _ in range(20))',
  'png = b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, 20, 8, 2, 0, 0, 0))',
  'open(f"bar-{lr}.png", "wb").write(png + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))',
  'hops.artifact(f"bar-{lr}.png")',
].join('\n');
const BROKEN = [
  'import hops',
  'hops.log(acc=lr)',
  'if lr > 0.15:',
  '    raise ValueError("lr too high")',
].join('\n');

const NOTEBOOK = 'train.ipynb';

let server;
let page;
const lab = new LabSession('experiments-panel');
const { browser } = lab;
/** name → id of the runs started. */
const ids = {};

describe('the Experiments panel in JupyterLab on hops lab', { skip }, () => {
  before(async () => {
    ({ server, page } = await lab.start(requirements, { viewport: { width: 1500, height: 1000 }, timeout: UI_TIMEOUT }));
  });

  after(() => lab.stop());

  // -------------------------------------------------------------------------------------------------------------
  // helpers

  const { screenshot, step } = lab;
  const { waitForText } = labWaits(browser, { uiTimeout: UI_TIMEOUT });

  const panel = () => page.locator('#hops-experiments');
  const item = (name) => panel().locator(`.hops-ExperimentItem[data-id="${ids[name]}"]`);
  const view = (name) => page.locator(`.hops-RunView[id="hops-experiment-${ids[name]}"]`);
  const compareView = () => page.locator('.hops-CompareView:not(.lm-mod-hidden)');

  async function waitForCount(what, locator, n) {
    let last;
    try {
      await waitFor(what, async () => (last = await locator.count()) === n, { timeout: UI_TIMEOUT, interval: 200 });
    } catch (err) {
      err.message += ` (counted ${last}, expected ${n})`;
      throw err;
    }
  }

  /** Shows the panel with "hops: Show experiments" (a click on its tab would hide it when it is shown). */
  async function showPanel() {
    // Right after a reload the shortcut can come before JupyterLab binds it: press it until the palette opens.
    const input = page.locator('.lm-CommandPalette-input');
    await waitFor('the command palette to open', async () => {
      if (!(await input.isVisible())) await page.keyboard.press('Control+Shift+c');
      return input.waitFor({ state: 'visible', timeout: 2000 }).then(() => true, () => false);
    }, { timeout: UI_TIMEOUT, interval: 250 });
    await input.fill('hops: Show experiments');
    await page.keyboard.press('Enter');
    await panel().waitFor({ state: 'visible', timeout: UI_TIMEOUT });
  }

  async function start(body) {
    const res = await server.api('api/hops/experiments', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    assert.equal(res.status, 201, `POST api/hops/experiments: ${text.slice(0, 500)}`);
    const e = JSON.parse(text);
    ids[body.name] = e.id;
    return e.id;
  }

  async function finished(id) {
    return waitFor(`experiment ${id} to end`, async () => {
      const e = await server.json(`api/hops/experiments/${id}`);
      return e.state !== 'running' ? e : false;
    }, { timeout: RUN_TIMEOUT, interval: 250 });
  }

  // -------------------------------------------------------------------------------------------------------------

  test('the hops extension loads and the Experiments panel has a tab in the left side bar', STEP, () =>
    step('lab', async () => {
      await page.goto(`${server.baseUrl}lab?token=${server.token}`, { timeout: UI_TIMEOUT });
      await page.locator('.jp-Launcher').waitFor({ timeout: UI_TIMEOUT });
      await page.locator('.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="hops-experiments"]').waitFor({ timeout: UI_TIMEOUT });
    }));

  test('an empty project says how to make an experiment', STEP, async () => {
    await step('empty', async () => {
      await showPanel();
      await waitForText('the empty state', panel(), /No experiments yet: run a cell with %%hops run/);
    });
    await screenshot('panel-empty', panel());
  });

  test('runs started through the API are listed with their state, best value and duration', STEP, async () => {
    await step('listed', async () => {
      const common = { grid: ['lr=0.1,0.2'], optimize: 'acc:max', executors: 2 };
      await start({ name: 'a', code: CODE, ...common });
      // b comes from a saved notebook, whose cell was edited since the save.
      const cell = `%%hops run --name b --grid lr=0.1,0.3 --optimize acc:max --executors 2\n${CODE}`;
      const notebook = {
        type: 'notebook', format: 'json',
        content: {
          nbformat: 4, nbformat_minor: 5, metadata: {},
          cells: [{ id: 'c1', cell_type: 'code', metadata: {}, outputs: [], execution_count: null, source: cell.replace('1/(', '2/(') }],
        },
      };
      const saved = await server.api(`api/contents/${NOTEBOOK}`, { method: 'PUT', body: JSON.stringify(notebook) });
      assert.ok(saved.ok, `save ${NOTEBOOK}: ${saved.status} ${await saved.text()}`);
      await start({ name: 'b', code: CODE, cell, notebook: NOTEBOOK, ...common, grid: ['lr=0.1,0.3'] });
      await start({ name: 'broken', code: BROKEN, ...common });
      const records = await Promise.all(Object.values(ids).map(finished));
      assert.deepEqual(records.map((r) => r.state), ['finished', 'finished', 'failed'].slice(0, 2).concat([records[2].state]));
      // The list polls: the runs show up without a click on refresh.
      await waitForCount('the three runs in the list', panel().locator('.hops-ExperimentItem'), 3);
      await waitForText('a finished', item('a').locator('.hops-RunState'), /^finished$/);
      await waitForText('b finished', item('b').locator('.hops-RunState'), /^finished$/);
      assert.match(await item('a').locator('.hops-ExperimentItem-best').innerText(), /^acc 1$/);
      assert.match(await item('b').locator('.hops-ExperimentItem-best').innerText(), /^acc 1\.5$/);
      assert.match(await item('a').innerText(), /2 trials/);
      assert.match(await item('a').locator('.hops-ExperimentItem-duration').innerText(), /\d+(\.\d)? (ms|s)$/);
      const names = await panel().locator('.hops-ExperimentItem-name').allInnerTexts();
      assert.deepEqual(names, ['broken', 'b', 'a'], 'newest first');
      assert.equal(await panel().locator('.hops-ExperimentItem.hops-mod-failed').count(), records[2].state === 'failed' ? 1 : 0);
    });
    await screenshot('panel-list', panel());
  });

  test('a run opens: the chart draws a line per trial, the trials table marks the best, a trial shows its output', STEP, async () => {
    await step('run', async () => {
      await item('a').click();
      await view('a').waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      await waitForText('the header', view('a').locator('.hops-RunView-header'), /finished[\s\S]*acc \(maximize\)/);
      const record = await server.json(`api/hops/experiments/${ids.a}`);
      assert.match(await view('a').locator('.hops-RunView-name').innerText(), /^a$/);
      await waitForCount('a line per trial', view('a').locator('.hops-Chart-svg path.hops-Chart-line'), 2);
      for (const d of await view('a').locator('path.hops-Chart-line').evaluateAll((els) => els.map((e) => e.getAttribute('d')))) {
        assert.match(d, /^M[\d.]+ [\d.]+( L[\d.]+ [\d.]+){4}$/, `a path of 5 points: ${d}`);
      }
      await waitForCount('two trial rows', view('a').locator('.hops-TrialRow'), 2);
      const best = view('a').locator('.hops-TrialRow.hops-mod-best');
      assert.equal(await best.count(), 1, 'one best trial');
      assert.equal(await best.getAttribute('data-trial'), record.best);
      assert.match(await best.innerText(), /★ best/);
      assert.match(await best.innerText(), /0\.2/, 'the best trial has lr=0.2');
      assert.equal(await view('a').locator('.hops-Chart-series.hops-mod-best').getAttribute('data-series'), record.best);
      // The metric select switches the chart to another metric.
      await view('a').locator('select.hops-MetricSelect').selectOption('loss');
      assert.equal(await view('a').locator('.hops-Chart-svg').getAttribute('aria-label'), 'loss by step');
      await waitForCount('still a line per trial', view('a').locator('path.hops-Chart-line'), 2);
      await view('a').locator('select.hops-MetricSelect').selectOption('acc');
      // A click on a trial shows its output.log and what it kept.
      await view('a').locator(`.hops-TrialRow[data-trial="${record.best}"]`).click();
      await waitForText('the output of the best trial', view('a').locator('.hops-TrialLogRow .hops-TrialLog'), /trained with lr 0\.2/);
      const kept = view('a').locator('.hops-TrialKept-item');
      assert.deepEqual(await kept.allInnerTexts(), ['curve-0.2.txt', 'bar-0.2.png']);
      // An image artifact is shown, loaded from the store.
      const image = view('a').locator('.hops-TrialImage img');
      await waitFor('the image artifact to load', async () =>
        (await image.evaluate((img) => img.complete && img.naturalWidth)) === 80, { timeout: UI_TIMEOUT });
      assert.equal(await view('a').locator('.hops-TrialImage figcaption').innerText(), 'bar-0.2.png');
      // Environment and code.
      await waitForText('the environment', view('a').locator('.hops-Facts').last(), /Python[\s\S]*\d+ packages[\s\S]*OS[\s\S]*CPU/);
      assert.match(await view('a').locator('pre.hops-Code').last().innerText(), /hops\.log\(acc=lr\*\(s\+1\)/);
    });
    await screenshot('run-view', view('a'));
    await step('artifact-in-store', async () => {
      // The artifact's link shows its folder in the Project store panel.
      const record = await server.json(`api/hops/experiments/${ids.a}`);
      await view('a').locator('.hops-TrialKept-item', { hasText: 'curve-0.2.txt' }).click();
      const store = page.locator('#hops-store');
      await store.waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      const folder = `${record.location}/${record.best}/artifacts`;
      await waitFor(`the store panel at ${folder}`, async () =>
        (await store.locator('.hops-StoreCrumb.hops-mod-current').getAttribute('data-path')) === folder, { timeout: UI_TIMEOUT });
      await store.locator('.hops-StoreEntry[data-name="curve-0.2.txt"]').waitFor({ timeout: UI_TIMEOUT });
    });
    await screenshot('artifact-in-store', page.locator('#hops-store'));
  });

  test('a failed trial shows its traceback', STEP, async () => {
    await step('failed-trial', async () => {
      const record = await server.json(`api/hops/experiments/${ids.broken}`);
      const failed = (record.trials ?? []).find((t) => t.state === 'failed');
      assert.ok(failed, `a failed trial in ${JSON.stringify(record.trials?.map((t) => t.state))}`);
      await showPanel();
      await item('broken').click();
      await view('broken').waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      await view('broken').locator(`.hops-TrialRow[data-trial="${failed.id}"]`).click();
      await waitForText('the traceback', view('broken').locator('.hops-TrialLogRow'), /ValueError: lr too high/);
    });
    await screenshot('failed-trial', page.locator('.hops-RunView:not(.lm-mod-hidden)'));
  });

  test('a run of a notebook names its version, says the cell was edited after the save, and opens that version', STEP, async () => {
    await step('notebook-version', async () => {
      const record = await server.json(`api/hops/experiments/${ids.b}`);
      assert.ok(record.commit, 'the run recorded the notebook commit');
      assert.equal(record.code_changed, true);
      await showPanel();
      assert.match(await item('b').locator('.hops-ExperimentItem-notebook').innerText(), /^train\.ipynb$/);
      await item('b').click();
      await view('b').waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      const header = view('b').locator('.hops-RunView-header');
      await waitForText('the notebook line', header, new RegExp(`train\\.ipynb at ${record.commit.slice(0, 7)}[\\s\\S]*edited after save`));
      assert.match(await header.locator('a.hops-LinkButton').getAttribute('href'), new RegExp(`api/hops/versions/train\\.ipynb/${record.commit}$`));
      await screenshot('notebook-run', view('b'));
      await header.locator('button.hops-LinkButton', { hasText: 'notebook at this version' }).click();
      const diff = page.locator('.hops-DiffView:not(.lm-mod-hidden)');
      await diff.waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      await waitForText('the diff of that version with the file', diff, new RegExp(record.commit.slice(0, 7)));
    });
  });

  test('two runs selected in the list open side by side, with their best trials overlaid', STEP, async () => {
    await step('compare', async () => {
      await showPanel();
      const compare = panel().locator('.hops-ExperimentsPanel-actions .hops-Button.hops-mod-accept');
      assert.equal(await compare.isDisabled(), true, 'Compare needs two runs');
      await item('a').locator('.hops-ExperimentItem-check').check();
      assert.equal(await compare.isDisabled(), true, 'still one run');
      await item('b').locator('.hops-ExperimentItem-check').check();
      assert.equal(await compare.isDisabled(), false);
      assert.equal(await compare.innerText(), 'Compare 2');
      await compare.click();
      await compareView().waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      const runs = compareView().locator('.hops-CompareView-runs thead .hops-CompareView-run');
      await waitForCount('both runs in the comparison', runs, 2);
      assert.deepEqual(await runs.evaluateAll((els) => els.map((e) => e.dataset.id)), [ids.a, ids.b], 'oldest first');
      const lr = compareView().locator('.hops-CompareView-params tr[data-name="lr"] td');
      assert.deepEqual(await lr.allInnerTexts(), ['0.1, 0.2', '0.1, 0.3']);
      assert.match(await compareView().locator('.hops-CompareView-params tr[data-name="lr"]').getAttribute('class'), /hops-mod-differs/);
      assert.deepEqual(await compareView().locator('.hops-CompareView-metrics tr[data-name="acc"] td').allInnerTexts(), ['1', '1.5']);
      await waitForCount('a line per run', compareView().locator('.hops-Chart-svg path.hops-Chart-line'), 2);
      assert.match(await compareView().locator('.hops-Chart-legend').innerText(), new RegExp(`a · ${ids.a}[\\s\\S]*b · ${ids.b}`));
      await waitForText('the environments', compareView().locator('.hops-CompareView-env'), /Python[\s\S]*Packages[\s\S]*GPUs/);
      await waitForText('the same packages', compareView(), /The same \d+ packages in every run/);
      // The name in a column opens the run.
      await compareView().locator('.hops-CompareView-open').first().click();
      await view('a').waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      await page.locator('.lm-DockPanel-tabBar .lm-TabBar-tab', { hasText: 'Compare 2 experiments' }).click();
      await compareView().waitFor({ state: 'visible', timeout: UI_TIMEOUT });
    });
    await screenshot('compare-view', compareView());
    await compareView().locator('.hops-CompareView-env').scrollIntoViewIfNeeded();
    await screenshot('compare-environment', compareView());
  });

  test('a list the server cannot give is an error with a retry', STEP, async () => {
    await step('unreachable', async () => {
      await showPanel();
      const listing = /\/api\/hops\/experiments\?/;
      await page.route(listing, (route) =>
        route.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ message: 'the catalog is busy: try again' }) }));
      try {
        // With runs listed, they stay, under a banner.
        await panel().locator('.hops-ExperimentsPanel-header .hops-IconButton').click();
        const banner = panel().locator('.hops-ExperimentsPanel-banner');
        await waitForText('the banner', banner, /Cannot list experiments: the catalog is busy: try again/);
        assert.equal(await panel().locator('.hops-ExperimentItem').count(), 3, 'the runs stay listed');
        await screenshot('panel-stale', panel());
        // A fresh panel (after a reload) has nothing to show but the error.
        await page.reload({ timeout: UI_TIMEOUT });
        await page.locator('.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="hops-experiments"]').waitFor({ timeout: UI_TIMEOUT });
        await showPanel();
        await waitForText('the error state', panel().locator('.hops-Empty.hops-mod-error'), /Cannot list experiments[\s\S]*the catalog is busy/);
        await screenshot('panel-error', panel());
      } finally {
        await page.unroute(listing);
      }
      await panel().locator('.hops-Empty.hops-mod-error .hops-Button', { hasText: 'Retry' }).click();
      await waitForCount('the runs back after a retry', panel().locator('.hops-ExperimentItem'), 3);
      assert.equal(await panel().locator('.hops-ExperimentsPanel-banner').isVisible(), false, 'no banner');
    });
  });

  test('older runs come a page at a time: More lists the next page, and none is left after the last', STEP, async () => {
    await step('paging', async () => {
      await showPanel();
      // 50 more runs, a page's worth, so that the three above move to the second page.
      const names = Array.from({ length: 50 }, (_, i) => `p${i}`);
      for (let i = 0; i < names.length; i += 5) {
        await Promise.all(names.slice(i, i + 5).map((name) => start({ name, code: 'pass' })));
      }
      await Promise.all(names.map((name) => finished(ids[name])));
      await panel().locator('.hops-ExperimentsPanel-header .hops-IconButton').click();
      const items = panel().locator('.hops-ExperimentItem');
      await waitForCount('a first page of 50', items, 50);
      const more = panel().locator('.hops-ExperimentList-more .hops-Button', { hasText: 'More' });
      assert.equal(await more.count(), 1, 'a More button under a full page');
      await screenshot('panel-first-page', panel());
      await more.click();
      await waitForCount('all 53 runs after More', items, 53);
      const listed = await panel().locator('.hops-ExperimentItem-name').allInnerTexts();
      assert.deepEqual(listed.slice(-3), ['broken', 'b', 'a'], 'the second page, oldest last');
      assert.deepEqual(new Set(listed.slice(0, 50)), new Set(names), 'each run once');
      assert.equal(await more.count(), 0, 'no More after the last page');
    });
    await screenshot('panel-second-page', panel());
  });

  test('no uncaught errors in the page', () => {
    assert.deepEqual(browser.pageErrors, [], 'uncaught page errors');
    const failed = browser.failedRequests.filter((r) =>
      (r.includes('/api/hops/experiments') || r.includes('/api/hops/store')) && !r.startsWith('[unreachable]'));
    assert.deepEqual(failed, [], 'failed requests of the panel');
  });
});
