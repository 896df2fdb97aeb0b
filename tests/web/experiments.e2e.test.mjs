// `%%hops run` in JupyterLab on `hops lab`, in headless chromium (playwright-core driving Debian's /usr/bin/chromium):
// a grid search on two executors shows a progress table updated in place while it runs, per-trial logs, a summary
// with the best trial and a Vega-Lite plot that JupyterLab renders natively; bad input is a UsageError; the toolbar's
// stop button interrupts a run and kills its trials. The steps run in order on one page; each saves a screenshot in
// tests/artifacts/web/ (experiments-NN-<step>.png).
//
// Runs against the hops server only (HOPS_WEB_SERVER=hops, the default).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { LabSession, notebookLocators, labWaits } from './browser.mjs';
import {
  chromiumAvailability,
  KIND,
  serverAvailability,
  skipUnless,
  waitFor,
} from './harness.mjs';

const requirements = [serverAvailability(), chromiumAvailability()];
const skip = KIND !== 'hops' ? 'the experiments end-to-end test runs against hops only' : skipUnless(...requirements);

// JupyterLab's first load on 2 shared cores takes seconds; kernels start an engine; trials start Python. Generous,
// never timed.
const UI_TIMEOUT = 60_000;
const KERNEL_TIMEOUT = 90_000;
const RUN_TIMEOUT = 60_000;
const STEP = { timeout: 240_000 };
const KERNEL_LABEL = 'Python 3 (hops)';

const GRID = [
  '%%hops run --name demo --grid lr=0.01,0.1,0.3 --grid batch=16,32 --executors 2 --optimize acc:max',
  'import hops, time',
  'for step in range(5):',
  '    hops.log(acc=lr * batch * (step + 1) / 100, loss=1 / (step + 1))',
  '    time.sleep(0.3)',
  'print("trained", lr, batch)',
].join('\n');
const COMBOS = ['0.01', '0.1', '0.3'].flatMap((lr) => ['16', '32'].map((batch) => ({ lr, batch })));
const BAD = '%%hops run --grid lr=\npass';
const SLEEPY = [
  '%%hops run --name sleepy --grid i=1,2',
  'import time',
  "print('sleeping', i, flush=True)",
  'time.sleep(120)',
].join('\n');

let server;
let page;
const lab = new LabSession('experiments');
const { browser } = lab;

describe('%%hops run in JupyterLab on hops lab', { skip }, () => {
  before(async () => {
    ({ server, page } = await lab.start(requirements, { viewport: { width: 1400, height: 1000 }, timeout: UI_TIMEOUT }));
  });

  after(() => lab.stop());

  // -------------------------------------------------------------------------------------------------------------
  // helpers

  const { screenshot, step } = lab;

  const { notebook, cell, cellCount, outputs } = notebookLocators(browser);
  const { waitForText, kernelStatus, waitForKernelStatus } = labWaits(browser, { uiTimeout: UI_TIMEOUT, kernelTimeout: KERNEL_TIMEOUT });
  const progressTable = (i) => cell(i).locator('.jp-OutputArea-output div.hops-run table');
  const summary = (i) => cell(i).locator('.jp-OutputArea-output .hops-run-summary');
  // The vega5 extension's renderer widget (.jp-RenderedVegaCommon5.jp-RenderedVegaLite, itself the output's
  // .jp-OutputArea-output) holds vega-embed's container, which holds the canvas.
  const plot = (i) => cell(i).locator('.jp-RenderedVegaCommon5.jp-RenderedVegaLite div.vega-embed');

  /**
   * Puts `code` in the last cell (a new one below if the last is not empty), inserted as text (no auto-indent, no
   * auto-closed brackets), runs it with Shift+Enter without waiting for it to finish, and returns the cell's index.
   */
  async function runCell(code) {
    let i = (await cellCount()) - 1;
    assert.ok(i >= 0, 'the notebook has cells');
    if ((await cell(i).locator('.cm-content').innerText()).trim() !== '') {
      await cell(i).locator('.jp-InputArea-prompt').click(); // command mode on the last cell
      await page.keyboard.press('b'); // insert a cell below
      i++;
      await waitFor(`a new cell ${i}`, async () => (await cellCount()) > i, { timeout: UI_TIMEOUT });
    }
    await cell(i).locator('.cm-content').click();
    await page.keyboard.press('Control+a');
    await page.keyboard.insertText(code);
    await page.keyboard.press('Shift+Enter');
    return i;
  }

  /** The rows of cell i's progress table, as [{trial, params, state}], in the order shown. */
  const tableRows = (i) => progressTable(i).first().evaluate((table) =>
    [...table.querySelectorAll('tbody tr')].map((tr) => {
      const td = [...tr.querySelectorAll('td')].map((c) => c.innerText.trim());
      return { trial: td[0].replace(/\s*★$/, ''), params: td[1], state: td[2] };
    })).catch(() => []);

  // -------------------------------------------------------------------------------------------------------------

  test('opens /lab and creates a notebook on the "Python 3 (hops)" kernel', STEP, () =>
    step('notebook', async () => {
      await page.goto(`${server.baseUrl}lab?token=${server.token}`, { timeout: UI_TIMEOUT });
      const tile = page.locator(`.jp-LauncherCard[data-category="Notebook"][title="${KERNEL_LABEL}"]`);
      await tile.waitFor({ timeout: UI_TIMEOUT });
      await tile.click();
      await notebook().waitFor({ timeout: UI_TIMEOUT });
      await waitForKernelStatus(/^Idle$/, 'Idle after the kernel started');
    }));

  let grid;

  test('a grid search shows a progress table while it runs, then per-trial logs, the best trial and a plot', STEP, () =>
    step('final', async () => {
      const started = Date.now();
      grid = await runCell(GRID);

      // While it runs: at least one row "running" (the table is redrawn in place by update_display_data).
      const running = await waitFor('a row in state "running" in the progress table', async () => {
        const rows = await tableRows(grid);
        return rows.some((r) => r.state === 'running') && rows;
      }, { timeout: RUN_TIMEOUT, interval: 100 });
      await progressTable(grid).first().scrollIntoViewIfNeeded();
      await screenshot('progress');
      console.log(`progress table while running: ${running.map((r) => `${r.trial} ${r.state}`).join(', ')}`);
      assert.ok(running.filter((r) => r.state === 'running').length <= 2, `at most 2 trials at once (--executors 2): ${
        JSON.stringify(running)}`);

      // Done: the summary names the best trial.
      await waitForText('the summary of the run', summary(grid), /Best: t5\b/, RUN_TIMEOUT);
      await waitForKernelStatus(/^Idle$/, 'Idle after the run', RUN_TIMEOUT);
      console.log(`grid run took ${((Date.now() - started) / 1000).toFixed(1)}s in the browser`);

      const rows = await tableRows(grid);
      assert.deepEqual(rows.map((r) => r.trial), ['t0', 't1', 't2', 't3', 't4', 't5'], `6 rows: ${JSON.stringify(rows)}`);
      assert.deepEqual(rows.map((r) => r.state), Array(6).fill('finished'), `all finished: ${JSON.stringify(rows)}`);
      assert.equal(await progressTable(grid).count(), 1, 'one progress table, updated in place');
      const tableHead = await cell(grid).locator('div.hops-run').first().innerText();
      assert.match(tableHead, /6 finished/, 'the table heading counts 6 finished trials');

      // Each trial's output, prefixed with its id, matching the parameters its row shows.
      const text = (await outputs(grid).allInnerTexts()).join('\n');
      assert.match(text, /^\[t0\] trained 0\.01 16$/m, 'the first trial\'s log line');
      const seen = [];
      for (const r of rows) {
        const lr = /lr=([\d.]+)/.exec(r.params)?.[1];
        const batch = /batch=(\d+)/.exec(r.params)?.[1];
        assert.ok(lr && batch, `row ${r.trial} shows its parameters: ${r.params}`);
        assert.match(text, new RegExp(`^\\[${r.trial}\\] trained ${lr.replace('.', '\\.')} ${batch}$`, 'm'),
          `the log line of ${r.trial} (${r.params})`);
        seen.push({ lr, batch });
      }
      assert.deepEqual(new Set(seen.map((c) => `${c.lr} ${c.batch}`)), new Set(COMBOS.map((c) => `${c.lr} ${c.batch}`)),
        'every combination of the grid ran once');
      const t5 = rows.find((r) => r.trial === 't5');
      assert.match(t5.params, /batch=32/, 't5 is the largest batch');
      assert.match(t5.params, /lr=0\.3/, 't5 is the largest learning rate');
      assert.match(await summary(grid).innerText(), /Experiment \S+ finished in .*Best: t5 \(batch=32, lr=0\.3\) with acc = 0\.48 \(max\)/s);

      // The Vega-Lite plot, rendered by JupyterLab's own vega5 extension.
      const vega = plot(grid);
      await vega.waitFor({ timeout: UI_TIMEOUT });
      const drawn = vega.locator('canvas, svg.marks').first();
      await drawn.waitFor({ timeout: UI_TIMEOUT });
      await drawn.scrollIntoViewIfNeeded();
      const box = await waitFor('the plot to have a size', async () => {
        const b = await drawn.boundingBox();
        return b && b.width > 100 && b.height > 100 && b;
      }, { timeout: UI_TIMEOUT });
      assert.ok(await drawn.isVisible(), 'the plot is visible');
      console.log(`plot: ${await drawn.evaluate((el) => el.tagName.toLowerCase())} ${Math.round(box.width)}x${Math.round(box.height)}`);
      // The plot shows pixels, not a blank canvas.
      const inked = await drawn.evaluate((el) => {
        if (el.tagName.toLowerCase() !== 'canvas') return el.querySelectorAll('path, rect').length > 0;
        const { data } = el.getContext('2d').getImageData(0, 0, el.width, el.height);
        let n = 0;
        for (let p = 0; p < data.length; p += 4) if (data[p + 3] > 0 && (data[p] < 200 || data[p + 1] < 200)) n++;
        return n > 1000;
      });
      assert.ok(inked, 'the plot has marks drawn');
      await vega.scrollIntoViewIfNeeded();
    }));

  test('the plot\'s metric timelines draw a coloured line per trial', STEP, () =>
    step('timelines', async () => {
      // The lower half of the plot's canvas holds the faceted timelines (acc, loss), below the bar chart. The
      // lines are drawn in the category colours of the trials; axes, grid and text are grey or black. Count the
      // pixels of each clearly coloured shade there.
      const drawn = plot(grid).locator('canvas').first();
      await drawn.scrollIntoViewIfNeeded();
      const colours = await drawn.evaluate((el) => {
        const top = Math.floor(el.height / 2);
        const { data } = el.getContext('2d').getImageData(0, top, el.width, el.height - top);
        const count = {};
        for (let p = 0; p < data.length; p += 4) {
          const [r, g, b, a] = [data[p], data[p + 1], data[p + 2], data[p + 3]];
          if (a < 200 || Math.max(r, g, b) - Math.min(r, g, b) < 60) continue;
          const key = [r, g, b].map((c) => Math.round(c / 32) * 32).join(',');
          count[key] = (count[key] ?? 0) + 1;
        }
        return Object.entries(count).filter(([, n]) => n >= 30).sort((x, y) => y[1] - x[1]);
      });
      console.log(`coloured shades in the timelines: ${JSON.stringify(colours)}`);
      assert.ok(colours.length >= 3, 'the timelines show lines in at least 3 trial colours (JupyterLab drew ' +
        `${colours.length}: ${JSON.stringify(colours)})`);
    }));

  test('bad input is a UsageError that says what is wrong', STEP, () =>
    step('usage-error', async () => {
      const bad = await runCell(BAD);
      await waitForText('the UsageError of an empty --grid', outputs(bad), /UsageError[\s\S]*no values after "lr="/, KERNEL_TIMEOUT);
      await waitForKernelStatus(/^Idle$/, 'Idle after the UsageError');
      assert.equal(await progressTable(bad).count(), 0, 'no progress table: nothing ran');
    }));

  test('the toolbar stop button interrupts a run: KeyboardInterrupt, and the summary says killed', STEP, () =>
    step('interrupted', async () => {
      const sleepy = await runCell(SLEEPY);
      await waitForText('a trial to print that it sleeps', outputs(sleepy), /^\[t[01]\] sleeping [12]$/m, RUN_TIMEOUT);
      await waitForKernelStatus(/^Busy$/, 'Busy while the trials sleep');
      const clicked = Date.now();
      await notebook().locator('[data-jp-item-name="interrupt"] jp-button').click();
      await waitForText('KeyboardInterrupt in the output of the interrupted run', outputs(sleepy), /KeyboardInterrupt/, 10_000);
      await waitForText('the summary of the interrupted run', summary(sleepy), /Experiment \S+ killed/,
        Math.max(1000, 10_000 - (Date.now() - clicked)));
      console.log(`interrupt took ${((Date.now() - clicked) / 1000).toFixed(1)}s to show`);
      const rows = await tableRows(sleepy);
      assert.ok(rows.length > 0 && rows.every((r) => r.state === 'killed'), `every trial killed: ${JSON.stringify(rows)}`);
      await waitForKernelStatus(/^Idle$/, 'Idle after the interrupt');
      await summary(sleepy).scrollIntoViewIfNeeded();
    }));

  test('%hops checkout of a run from a saved cell writes that notebook version, and JupyterLab opens it', STEP, () =>
    step('checkout', async () => {
      // A saved cell: the run records the version that has it.
      let i = await runCell('print("ready")');
      await waitForKernelStatus(/^Idle$/, 'Idle before the saved run');
      await cell(i).locator('.jp-InputArea-prompt').click();
      await page.keyboard.press('b');
      i++;
      await waitFor(`a new cell ${i}`, async () => (await cellCount()) > i, { timeout: UI_TIMEOUT });
      await cell(i).locator('.cm-content').click();
      await page.keyboard.insertText('%%hops run --name saved\nprint("from a saved cell")');
      await cell(i).locator('.jp-InputArea-prompt').click(); // command mode, focus in the notebook
      await page.keyboard.press('Control+s');
      // JupyterLab offers to rename an untitled notebook on its first save: keep the name.
      const rename = page.locator('.jp-Dialog', { hasText: 'Rename file' });
      await waitFor('the save to complete or the rename-on-first-save dialog', async () =>
        (await rename.count()) > 0 || (await page.locator('.lm-TabBar-tab.jp-mod-current.jp-mod-dirty').count()) === 0,
      { timeout: UI_TIMEOUT });
      if ((await rename.count()) > 0) await rename.locator('.jp-Dialog-button.jp-mod-accept').click();
      await waitFor('the cell to be saved', async () => {
        const r = await fetch(`${server.baseUrl}api/contents/Untitled.ipynb?content=1`, { headers: { Authorization: `token ${server.token}` } });
        return r.ok && JSON.stringify(await r.json()).includes('from a saved cell');
      }, { timeout: UI_TIMEOUT });
      await cell(i).locator('.cm-content').click();
      await page.keyboard.press('Shift+Enter');
      const done = await waitForText('the summary of the saved run', summary(i), /Experiment (\S+) finished[\s\S]*notebook version: [0-9a-f]{7}/, RUN_TIMEOUT);
      assert.doesNotMatch(done, /differs/, 'the cell that ran is the saved one');
      const id = done.match(/Experiment (\S+) finished/)[1];
      await waitForKernelStatus(/^Idle$/, 'Idle after the saved run');

      const co = await runCell(`%hops checkout ${id}`);
      const said = await waitForText('where checkout wrote the notebook', outputs(co), /Checked out experiment \S+: (\S+\.ipynb)/, KERNEL_TIMEOUT);
      const path = said.match(/Checked out experiment \S+: (\S+\.ipynb)/)[1];
      await page.goto(`${server.baseUrl}lab/tree/${encodeURIComponent(path)}?token=${server.token}`, { timeout: UI_TIMEOUT });
      const opened = page.locator(`.jp-NotebookPanel[data-jp-document-path="${path}"], .jp-NotebookPanel`).last();
      await waitFor(`${path} open with its cells`, async () =>
        /from a saved cell/.test(await opened.locator('.jp-Notebook').innerText().catch(() => '')), { timeout: UI_TIMEOUT });
      await page.locator(`.jp-DirListing-item[title*="${path}"], .jp-DirListing-item:has-text("${path}")`).first()
        .waitFor({ timeout: UI_TIMEOUT });
      console.log(`checkout of ${id} opened as ${path}`);
    }));

  test('no uncaught errors in the page', () => {
    assert.deepEqual(browser.pageErrors, [], 'uncaught page errors');
  });
});
