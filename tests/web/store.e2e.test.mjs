// The project store in JupyterLab on `hops lab`, in headless chromium (playwright-core driving Debian's
// /usr/bin/chromium): the hops extension's Project store panel lists the store's layout, uploads files into
// Resources/ (file picker and drag and drop) with their progress, downloads one and gets the same bytes back, makes a
// folder, moves a file into it, deletes the folder, keeps the folders hops manages read-only, and shows an
// unreachable store with a retry. The steps run in order on one page; each saves a screenshot in
// tests/artifacts/web/ (store-NN-<step>.png).
//
// Runs against the hops server only (HOPS_WEB_SERVER=hops, the default).

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
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
const skip = KIND !== 'hops' ? 'the store end-to-end test runs against hops only' : skipUnless(...requirements);

const UI_TIMEOUT = 60_000;
const STEP = { timeout: 180_000 };
const LAYOUT = ['Experiments', 'FeatureStore', 'Logs', 'Models', 'Resources'];

// A CSV of about 200 KB (so that its size reads in KB), with a non-ASCII line, and a small text file.
const CSV_NAME = 'iris measurements.csv';
const CSV = Buffer.from(['sepal_length,sepal_width,petal_length,petal_width,species,note',
  ...Array.from({ length: 4000 }, (_, i) =>
    `${(4 + (i % 40) / 10).toFixed(1)},${(2 + (i % 25) / 10).toFixed(1)},${(1 + (i % 60) / 10).toFixed(1)},` +
    `${((i % 25) / 10).toFixed(1)},${['setosa', 'versicolor', 'virginica'][i % 3]},row ${i} ünïcode ✓`),
  ''].join('\n'));
const NOTES = Buffer.from('measured in cm\n');

let server;
let page;
const lab = new LabSession('store');
const { browser } = lab;

describe('the project store in JupyterLab on hops lab', { skip }, () => {
  before(async () => {
    ({ server, page } = await lab.start(requirements, { viewport: { width: 1500, height: 950 }, timeout: UI_TIMEOUT }));
  });

  after(() => lab.stop());

  // -------------------------------------------------------------------------------------------------------------
  // helpers

  const { screenshot, step } = lab;
  const { waitForText } = labWaits(browser, { uiTimeout: UI_TIMEOUT });

  const panel = () => page.locator('#hops-store');
  const rows = () => panel().locator('.hops-StoreEntry');
  const row = (name) => panel().locator(`.hops-StoreEntry[data-name="${name}"]`);
  const button = (action) => panel().locator(`.hops-StorePanel-toolbar [data-action="${action}"]`);
  const dialog = () => page.locator('.jp-Dialog');
  const names = () => rows().evaluateAll((els) => els.map((e) => e.dataset.name));
  const encode = (path) => path.split('/').map(encodeURIComponent).join('/');
  const listing = (path) => server.json(`api/hops/store/${encode(path)}`);

  async function waitForNames(what, expected) {
    let last;
    try {
      await waitFor(what, async () => {
        last = await names();
        return JSON.stringify(last) === JSON.stringify(expected);
      }, { timeout: UI_TIMEOUT, interval: 200 });
    } catch (err) {
      err.message += ` (listed: ${JSON.stringify(last)}, expected ${JSON.stringify(expected)})`;
      throw err;
    }
  }

  /** The breadcrumb's current folder. */
  const here = () => panel().locator('.hops-StoreCrumb.hops-mod-current').getAttribute('data-path');

  async function openFolder(name) {
    await row(name).dblclick();
    await waitFor(`the panel to show ${name}`, async () => (await here())?.endsWith(name), { timeout: UI_TIMEOUT });
  }

  /** Types into the name dialog and accepts it. */
  async function answerName(title, value) {
    await waitForText(`the ${title} dialog`, dialog(), new RegExp(title));
    const input = dialog().locator('input.hops-NameDialog-input');
    await input.fill(value);
    await dialog().locator('.jp-Dialog-button.jp-mod-accept').click();
    await dialog().waitFor({ state: 'detached', timeout: UI_TIMEOUT });
  }

  /** A toast with text matching pattern. */
  const toast = (pattern) => waitForText('a notification', page.locator('.Toastify__toast'), pattern);

  // -------------------------------------------------------------------------------------------------------------

  test('the hops extension loads and the Project store has a tab in the left side bar', STEP, () =>
    step('lab', async () => {
      await page.goto(`${server.baseUrl}lab?token=${server.token}`, { timeout: UI_TIMEOUT });
      await page.locator('.jp-Launcher').waitFor({ timeout: UI_TIMEOUT });
      await page.locator('.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="hops-store"]').waitFor({ timeout: UI_TIMEOUT });
    }));

  test('"hops: Show project store" opens the panel on the layout and says where the store is', STEP, async () => {
    await step('panel', async () => {
      await page.keyboard.press('Control+Shift+c');
      await page.locator('.lm-CommandPalette-input').fill('hops: Show project store');
      await page.keyboard.press('Enter');
      await panel().waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      await waitForNames('the five folders of the project layout', LAYOUT);
      const root = await listing('');
      assert.equal(await panel().locator('.hops-StorePanel-location').innerText(), root.store, 'the store line');
      assert.equal(await panel().locator('.hops-StorePanel-kind').innerText(), 'Local directory');
      assert.ok(root.store.startsWith(server.workspace), `the default store is in the workspace: ${root.store}`);
      assert.equal(await here(), '', 'the breadcrumb is at the root');
      // At the root nothing is uploaded: the layout is hops'.
      assert.equal(await button('upload').isDisabled(), true, 'no upload into the root');
      assert.match(await panel().locator('.hops-StorePanel-note').innerText(), /Resources\//);
      const modified = await row('Resources').locator('time').getAttribute('title');
      assert.ok(modified && /\d/.test(modified), `the exact time on hover: ${modified}`);
      assert.match(await row('Resources').locator('time').innerText(), /now|second|minute/);
    });
    await screenshot('panel-root', panel());
  });

  test('Resources opens on a double click, empty', STEP, () =>
    step('resources', async () => {
      await openFolder('Resources');
      await waitForText('the empty state', panel().locator('.hops-StorePanel-body'), /This folder is empty/);
      assert.equal(await button('upload').isDisabled(), false, 'uploads into Resources');
      assert.equal(await panel().locator('.hops-StorePanel-note').isVisible(), false, 'no read-only note');
      assert.match((await panel().locator('.hops-StoreCrumbs').innerText()).trim(), /Resources$/);
    }));

  test('two files uploaded through the file picker are listed with their sizes, the bytes as sent', STEP, async () => {
    await step('uploaded', async () => {
      // The upload goes through the same button users click: it opens the file picker.
      const chooser = page.waitForEvent('filechooser');
      await button('upload').click();
      await (await chooser).setFiles([
        { name: CSV_NAME, mimeType: 'text/csv', buffer: CSV },
        { name: 'notes.txt', mimeType: 'text/plain', buffer: NOTES },
      ]);
      await waitForNames('the uploaded files', [CSV_NAME, 'notes.txt']);
      await waitForText('the upload list saying done', panel().locator('.hops-StoreUploads'), /Uploaded/);
      const entries = (await listing('Resources')).entries;
      const csv = entries.find((e) => e.name === CSV_NAME);
      assert.equal(csv?.size, CSV.length, 'the store has the whole file');
      const kb = Math.round(CSV.length / 1024);
      assert.match(await row(CSV_NAME).locator('.hops-StoreEntry-size').innerText(), new RegExp(`^${kb} KB$`));
      assert.equal(await row(CSV_NAME).locator('.hops-StoreEntry-size').getAttribute('title'),
        `${CSV.length.toLocaleString('en-US')} bytes`);
      assert.equal(await row('notes.txt').locator('.hops-StoreEntry-size').innerText(), `${NOTES.length} B`);
      const res = await server.api(`api/hops/store/Resources/${encodeURIComponent(CSV_NAME)}`);
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(CSV), 'the stored bytes are the uploaded ones');
    });
    await screenshot('panel-uploaded', panel());
  });

  test('a file dropped from the desktop is uploaded into the folder shown', STEP, () =>
    step('dropped', async () => {
      const body = panel().locator('.hops-StorePanel-body');
      const dt = await page.evaluateHandle(() => {
        const d = new DataTransfer();
        d.items.add(new File(['dropped,1\n'], 'dropped.csv', { type: 'text/csv' }));
        return d;
      });
      await body.dispatchEvent('dragenter', { dataTransfer: dt });
      await body.dispatchEvent('dragover', { dataTransfer: dt });
      await waitForText('the drop hint', panel().locator('.hops-StoreDrop'), /Drop to upload into Resources\//);
      await screenshot('drop-hint', panel());
      await body.dispatchEvent('drop', { dataTransfer: dt });
      await waitForNames('the dropped file, in name order', ['dropped.csv', CSV_NAME, 'notes.txt']);
      assert.equal(await panel().locator('.hops-StoreDrop').isVisible(), false, 'the hint goes away');
    }));

  test('a slow upload shows its progress and can be cancelled, leaving nothing in the store', STEP, async () => {
    await step('upload-cancelled', async () => {
      // Chromium's network emulation throttles the upload to 256 KB/s: an 8 MB file takes 32 s, still running
      // when the test cancels it, even on a loaded machine.
      const cdp = await page.context().newCDPSession(page);
      await cdp.send('Network.enable');
      await cdp.send('Network.emulateNetworkConditions', {
        offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 256 * 1024,
      });
      try {
        const chooser = page.waitForEvent('filechooser');
        await button('upload').click();
        await (await chooser).setFiles([{ name: 'big.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(8 << 20, 7) }]);
        const item = panel().locator('.hops-StoreUpload[data-name="big.bin"]');
        await waitFor('the upload to be part way', async () => {
          const pct = Number(await item.locator('[role="progressbar"]').getAttribute('aria-valuenow'));
          return pct > 0 && pct < 100;
        }, { timeout: UI_TIMEOUT, interval: 100 });
        assert.match(await item.locator('.hops-StoreUpload-status').innerText(), /KB of 8 MB · \d+%|MB of 8 MB · \d+%/);
        assert.match(await panel().locator('.hops-StoreUploads-title').innerText(), /Uploading 1 file/i);
        await screenshot('upload-progress', panel());
        await item.locator('.hops-StoreUpload-cancel').click();
        await waitForText('the upload cancelled', item.locator('.hops-StoreUpload-status'), /Cancelled/);
      } finally {
        await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
        await cdp.detach();
      }
      // The server publishes a file whole or not at all: nothing under the name, and its partial copy is gone too.
      const dir = join((await listing('')).store, 'Resources');
      await waitFor('the store directory to hold neither big.bin nor a partial copy of it', () =>
        !readdirSync(dir).some((n) => n.includes('big.bin')), { timeout: 20_000 });
      await waitForNames('the listing without big.bin', ['dropped.csv', CSV_NAME, 'notes.txt']);
    });
  });

  test('a download through the panel gives the same bytes', STEP, () =>
    step('downloaded', async () => {
      await row(CSV_NAME).click();
      assert.equal(await row(CSV_NAME).getAttribute('aria-selected'), 'true');
      const downloading = page.waitForEvent('download');
      await button('download').click();
      const download = await downloading;
      assert.equal(download.suggestedFilename(), CSV_NAME);
      assert.equal(await download.failure(), null);
      const bytes = readFileSync(await download.path());
      assert.ok(bytes.equals(CSV), `the downloaded file is the uploaded one (${bytes.length} of ${CSV.length} bytes)`);
      assert.match(download.url(), /\/api\/hops\/store\/Resources\/iris%20measurements\.csv\?download=1$/);
      assert.ok(!download.url().includes(server.token), 'the token is not in the download URL');
    }));

  test('a new folder, and the CSV renamed into it', STEP, async () => {
    await step('moved', async () => {
      await button('new-folder').click();
      await answerName('New folder', 'raw');
      await waitForNames('the new folder first', ['raw', 'dropped.csv', CSV_NAME, 'notes.txt']);
      assert.equal(await row('raw').getAttribute('data-kind'), 'directory');

      await row(CSV_NAME).click();
      await button('rename').click();
      await answerName('Rename file', `raw/${CSV_NAME}`);
      await waitForNames('the CSV moved out of Resources', ['raw', 'dropped.csv', 'notes.txt']);
      await toast(/Moved iris measurements\.csv to Resources\/raw\//);
      const raw = (await listing('Resources/raw')).entries;
      assert.deepEqual(raw.map((e) => [e.name, e.size]), [[CSV_NAME, CSV.length]], 'the CSV is in raw/');

      await openFolder('raw');
      await waitForNames('the CSV in raw/', [CSV_NAME]);
    });
    await screenshot('panel-raw', panel());
  });

  test('the context menu copies the snippet that opens the file in a notebook', STEP, async () => {
    await step('copied', async () => {
      await row(CSV_NAME).click({ button: 'right' });
      const item = page.locator('.lm-Menu-item', { hasText: 'Copy hops.fs.open(' });
      await waitForText('the copy item', item, /Copy hops\.fs\.open\("Resources\/raw\/iris measurements\.csv"\)/);
      await screenshot('context-menu');
      await item.click();
      await toast(/Copied hops\.fs\.open\("Resources\/raw\/iris measurements\.csv"\)/);
    });
  });

  test('deleting the folder (confirmed) removes it with the file in it', STEP, async () => {
    await step('deleted', async () => {
      await panel().locator('.hops-StoreCrumb[data-path="Resources"]').click();
      await waitForNames('Resources again', ['raw', 'dropped.csv', 'notes.txt']);
      await row('raw').click();
      await button('delete').click();
      await waitForText('the delete dialog', dialog(), /Delete the folder\?[\s\S]*Resources\/raw[\s\S]*everything in it/);
      await screenshot('delete-dialog');
      await dialog().locator('.jp-Dialog-button.jp-mod-warn').click();
      await dialog().waitFor({ state: 'detached', timeout: UI_TIMEOUT });
      await waitForNames('the folder gone', ['dropped.csv', 'notes.txt']);
      assert.deepEqual((await listing('Resources')).entries.map((e) => e.name), ['dropped.csv', 'notes.txt']);
      const gone = await server.api('api/hops/store/Resources/raw');
      assert.equal(gone.status, 404, 'raw/ is gone from the store');
    });
  });

  test('the folders hops manages are read-only in the panel', STEP, () =>
    step('read-only', async () => {
      await panel().locator('.hops-StoreCrumb[data-path=""]').click();
      await waitForNames('the root', LAYOUT);
      await row('Resources').click();
      assert.equal(await button('delete').isDisabled(), true, 'a layout folder cannot be deleted');
      assert.equal(await button('rename').isDisabled(), true, 'nor renamed');
      await openFolder('Experiments');
      assert.equal(await button('upload').isDisabled(), true, 'no upload into Experiments/');
      assert.equal(await button('new-folder').isDisabled(), true);
      await waitForText('the read-only note', panel().locator('.hops-StorePanel-note'), /hops manages Experiments\//);
    }));

  test('an unreachable store shows its message and a retry that lists again', STEP, async () => {
    await step('unreachable', async () => {
      const route = /\/api\/hops\/store(\/|\?|$)/;
      const down = (r) => r.fulfill({
        status: 503,
        contentType: 'application/json',
        body: JSON.stringify({ message: 'store hdfs://namenode:8020/p is unavailable: dial tcp: connection refused' }),
      });
      await page.route(route, down);
      try {
        await panel().locator('[data-action="refresh"]').click();
        await waitForText('the error state', panel().locator('.hops-StorePanel-body'),
          /The store is unreachable[\s\S]*connection refused/);
        await screenshot('unreachable', panel());
      } finally {
        await page.unroute(route, down);
      }
      await panel().locator('.hops-Empty .hops-Button', { hasText: 'Retry' }).click();
      await waitFor('the listing back after Retry', async () => (await panel().locator('.hops-Empty.hops-mod-error').count()) === 0 &&
        (await panel().locator('.hops-StoreList, .hops-Empty').count()) > 0, { timeout: UI_TIMEOUT });
    });
  });

  test('an upload the store refuses says why, and Retry uploads it again', STEP, async () => {
    await step('upload-retried', async () => {
      await panel().locator('.hops-StoreCrumb[data-path=""]').click();
      await openFolder('Resources');
      await waitForNames('Resources', ['dropped.csv', 'notes.txt']);
      const route = /\/api\/hops\/store\/Resources\/retry\.txt$/;
      const refuse = (r) => (r.request().method() === 'PUT'
        ? r.fulfill({ status: 503, contentType: 'application/json',
          body: JSON.stringify({ message: 'upload of Resources/retry.txt broke off; the store is unchanged: namenode down' }) })
        : r.fallback());
      await page.route(route, refuse);
      const item = panel().locator('.hops-StoreUpload[data-name="retry.txt"]');
      try {
        const chooser = page.waitForEvent('filechooser');
        await button('upload').click();
        await (await chooser).setFiles([{ name: 'retry.txt', mimeType: 'text/plain', buffer: Buffer.from('again\n') }]);
        await waitForText('the failure', item.locator('.hops-StoreUpload-status'), /Failed: upload of Resources\/retry\.txt broke off.*namenode down/);
        await screenshot('upload-failed', panel());
      } finally {
        await page.unroute(route, refuse);
      }
      await item.locator('.hops-StoreUpload-retry').click();
      await waitForNames('the retried file', ['dropped.csv', 'notes.txt', 'retry.txt']);
      await waitForText('the upload done', item.locator('.hops-StoreUpload-status'), /Uploaded/);
    });
  });

  test('uploading a file that is there asks before replacing it', STEP, () =>
    step('replaced', async () => {
      const chooser = page.waitForEvent('filechooser');
      await button('upload').click();
      await (await chooser).setFiles([{ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('measured in mm\n') }]);
      await waitForText('the replace dialog', dialog(), /Replace the file\?[\s\S]*Resources\/ already has a file[\s\S]*notes\.txt/);
      await screenshot('replace-dialog');
      await dialog().locator('.jp-Dialog-button.jp-mod-warn', { hasText: 'Replace' }).click();
      await waitFor('the new content in the store', async () =>
        (await (await server.api('api/hops/store/Resources/notes.txt')).text()) === 'measured in mm\n', { timeout: UI_TIMEOUT });
    }));

  test('no uncaught errors in the page, and no store request failed but those the test made fail', () => {
    assert.deepEqual(browser.pageErrors, [], 'uncaught page errors');
    const failed = browser.failedRequests.filter((r) => r.includes('/api/hops/store') && !/^\[(unreachable|upload-retried)\]/.test(r));
    assert.deepEqual(failed, [], 'failed store requests');
  });
});
