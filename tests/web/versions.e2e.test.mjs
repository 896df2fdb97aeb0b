// Notebook versions in JupyterLab on `hops lab`, in headless chromium (playwright-core driving Debian's
// /usr/bin/chromium): every save is a version; the hops extension's Versions panel lists them, compares two in the
// cell-level diff view (changed lines highlighted, images side by side) and restores one. The steps run in order on
// one page; each saves a screenshot in tests/artifacts/web/ (versions-NN-<step>.png).
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
const skip = KIND !== 'hops' ? 'the versions end-to-end test runs against hops only' : skipUnless(...requirements);

const UI_TIMEOUT = 60_000;
const KERNEL_TIMEOUT = 90_000;
const STEP = { timeout: 240_000 };
const KERNEL_LABEL = 'Python 3 (hops)';
const NOTEBOOK = 'versions-e2e.ipynb';

// A PNG of one colour, written by the standard library alone, shown with IPython.display.Image.
const imageCell = (rgb) => [
  'import struct, zlib',
  'from IPython.display import Image',
  "chunk = lambda kind, data: struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))",
  "png = lambda rgb, w=96, h=64: b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0)) + " +
    "chunk(b'IDAT', zlib.compress((b'\\x00' + bytes(rgb) * w) * h)) + chunk(b'IEND', b'')",
  `Image(data=png((${rgb.join(', ')})))`,
].join('\n');
const RED = [200, 40, 40];
const GREEN = [40, 170, 70];

let server;
let page;
const lab = new LabSession('versions');
const { browser } = lab;
/** The commit of each of the three saves, oldest first. */
const saves = [];

describe('notebook versions in JupyterLab on hops lab', { skip }, () => {
  before(async () => {
    ({ server, page } = await lab.start(requirements, { viewport: { width: 1500, height: 950 }, timeout: UI_TIMEOUT }));
  });

  after(() => lab.stop());

  // -------------------------------------------------------------------------------------------------------------
  // helpers

  const { screenshot, step } = lab;

  const { notebook, cell, cellCount, outputs } = notebookLocators(browser);
  const { waitForText } = labWaits(browser, { uiTimeout: UI_TIMEOUT, kernelTimeout: KERNEL_TIMEOUT });
  const panel = () => page.locator('#hops-versions');
  const rows = () => panel().locator('.hops-Version');
  const row = (commit) => panel().locator(`.hops-Version[data-commit="${commit}"]`);
  const diffView = () => page.locator('.hops-DiffPanel:not(.lm-mod-hidden) .hops-DiffView');

  async function kernelIdle() {
    await waitFor('the kernel to be Idle in the status bar', async () => {
      const texts = await page.locator('.jp-StatusBar-Item').allInnerTexts();
      return texts.some((t) => / \| Idle$/.test(t.trim()));
    }, { timeout: KERNEL_TIMEOUT, interval: 250 });
  }

  /** Replaces the source of cell i (inserted as text: no auto-indent) and runs it in place. */
  async function setAndRun(i, code) {
    await cell(i).locator('.cm-content').click();
    await page.keyboard.press('Control+a');
    await page.keyboard.insertText(code);
    await page.keyboard.press('Control+Enter');
    await kernelIdle();
  }

  /** Adds a cell below the last one, sets it to code and runs it. */
  async function appendAndRun(code) {
    const n = await cellCount();
    await cell(n - 1).locator('.jp-InputArea-prompt').click(); // command mode on the last cell
    await page.keyboard.press('b');
    await waitFor(`cell ${n} to be added`, async () => (await cellCount()) > n, { timeout: UI_TIMEOUT });
    await setAndRun(n, code);
    return n;
  }

  async function versionsFromAPI() {
    return (await server.json(`api/hops/versions/${encodeURIComponent(NOTEBOOK)}?limit=100`)).versions;
  }

  /** Saves with Ctrl+S (naming the notebook on its first save) and returns the version the save made. */
  async function save() {
    const before = saves.length ? (await versionsFromAPI()).length : 0;
    await cell(0).locator('.jp-InputArea-prompt').click();
    await page.keyboard.press('Control+s');
    const rename = page.locator('.jp-Dialog', { hasText: 'Rename file' });
    await waitFor('the save to complete or the rename-on-first-save dialog', async () =>
      (await rename.count()) > 0 || (await page.locator('.lm-TabBar-tab.jp-mod-current.jp-mod-dirty').count()) === 0,
    { timeout: UI_TIMEOUT });
    if ((await rename.count()) > 0) {
      await rename.locator('input:not([type="checkbox"])').fill(NOTEBOOK);
      await rename.locator('.jp-Dialog-button.jp-mod-accept').click();
      await waitForText('the renamed tab', page.locator('.lm-TabBar-tab.jp-mod-current'), new RegExp(NOTEBOOK.replace('.', '\\.')));
    }
    await waitFor('the tab to lose its unsaved-changes mark',
      async () => (await page.locator('.lm-TabBar-tab.jp-mod-current.jp-mod-dirty').count()) === 0, { timeout: UI_TIMEOUT });
    // An acknowledged save is in history. The first one renames the notebook too (JupyterLab saves, then renames):
    // the save is the newest version whose message says so.
    const versions = await waitFor(`a new version of ${NOTEBOOK} in GET /api/hops/versions`, async () => {
      const v = await versionsFromAPI().catch(() => []);
      return v.length > before && v;
    }, { timeout: UI_TIMEOUT });
    const saved = versions.slice(0, versions.length - before).find((v) => v.message.startsWith('Save ')) ?? versions[0];
    saves.push(saved.commit);
    return saved;
  }

  /** The colour at the centre of an <img>, as [r, g, b]. */
  const centreColour = (img) => img.evaluate((el) => {
    const c = document.createElement('canvas');
    c.width = el.naturalWidth;
    c.height = el.naturalHeight;
    const ctx = c.getContext('2d');
    ctx.drawImage(el, 0, 0);
    return Array.from(ctx.getImageData(c.width >> 1, c.height >> 1, 1, 1).data.slice(0, 3));
  });

  // -------------------------------------------------------------------------------------------------------------

  test('the hops extension is in the page config and loads', STEP, () =>
    step('lab', async () => {
      await page.goto(`${server.baseUrl}lab?token=${server.token}`, { timeout: UI_TIMEOUT });
      await page.locator('.jp-Launcher').waitFor({ timeout: UI_TIMEOUT });
      const federated = await page.evaluate(() =>
        JSON.parse(document.getElementById('jupyter-config-data').textContent).federated_extensions.map((e) => e.name));
      assert.ok(federated.includes('@hopsml/hops'), `federated_extensions: ${federated}`);
      // The panel's tab in the right sidebar is the sign that the plugin activated.
      await page.locator('.jp-SideBar .lm-TabBar-tab[data-id="hops-versions"]').waitFor({ timeout: UI_TIMEOUT });
    }));

  test('a notebook saved three times: a title, a print, an image (added on the first save, changed on the third)', STEP, () =>
    step('saved-three-times', async () => {
      await page.locator(`.jp-LauncherCard[data-category="Notebook"][title="${KERNEL_LABEL}"]`).click();
      await notebook().waitFor({ timeout: UI_TIMEOUT });
      await kernelIdle();

      await setAndRun(0, "title = 'hops versions e2e'");
      await appendAndRun("print('version one')");
      const img = await appendAndRun(imageCell(RED));
      await outputs(img).locator('img').waitFor({ timeout: KERNEL_TIMEOUT });
      await save();

      await appendAndRun("notes = 'second save'");
      await save();

      await setAndRun(1, "print('version three')");
      await waitForText('the new print', outputs(1), /^version three$/m, KERNEL_TIMEOUT);
      await setAndRun(2, imageCell(GREEN));
      await outputs(2).locator('img').waitFor({ timeout: KERNEL_TIMEOUT });
      await save();
      assert.equal(new Set(saves).size, 3, `three distinct versions: ${saves}`);
    }));

  test('the Versions panel lists every version, newest first, with the three saves on top', STEP, () =>
    step('panel', async () => {
      await page.keyboard.press('Control+Shift+c'); // the command palette
      await page.locator('.lm-CommandPalette-input').fill('hops: Show notebook versions');
      await page.keyboard.press('Enter');
      await panel().waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      const api = await versionsFromAPI();
      await waitFor(`the panel to list the ${api.length} versions of GET /api/hops/versions`,
        async () => (await rows().count()) === api.length, { timeout: UI_TIMEOUT });
      const listed = await rows().evaluateAll((els) => els.map((e) => e.dataset.commit));
      assert.deepEqual(listed, api.map((v) => v.commit), 'the panel lists the API versions in its order');
      assert.deepEqual(listed.filter((c) => saves.includes(c)), [...saves].reverse(), 'the three saves, newest first');
      assert.equal(listed[0], saves[2], 'the last save is the newest version');
      await waitForText('the file name in the panel', panel().locator('.hops-VersionsPanel-file'), new RegExp(NOTEBOOK.replace('.', '\\.')));
      const latest = await row(saves[2]).innerText();
      assert.match(latest, /latest/, 'the newest version is marked latest');
      assert.match(latest, /just now|second|minute/, `a relative time: ${latest}`);
      assert.match(latest, /\+\d+\s*−\d+\s*~\d+\s*cells/, `cell stats: ${latest}`);
      const exact = await row(saves[2]).locator('time').getAttribute('title');
      assert.ok(exact && /\d/.test(exact), `the exact time on hover: ${exact}`);
    }));

  test('comparing the first save with the last: changed lines highlighted, images side by side', STEP, async () => {
    await step('diff', async () => {
      await row(saves[0]).locator('.hops-Version-check').click();
      await row(saves[2]).locator('.hops-Version-check').click();
      const compare = panel().locator('.hops-Button.hops-mod-accept');
      await waitForText('the Compare button naming both versions', compare, /Compare \w{7} → \w{7}/);
      await compare.click();
      await diffView().locator('.hops-DiffCell').first().waitFor({ timeout: UI_TIMEOUT });

      const header = await diffView().locator('.hops-DiffView-header').innerText();
      assert.match(header, new RegExp(`${saves[0].slice(0, 7)}[\\s\\S]*${saves[2].slice(0, 7)}`), `the header names both versions: ${header}`);
      assert.match(header, /2 modified/, header);
      assert.match(header, /1 added/, header);
      assert.match(header, /1 unchanged/, header);

      // The print cell: the old line deleted on the left, the new one inserted on the right, on one row.
      const printCell = diffView().locator('.hops-DiffCell.hops-mod-modified', { hasText: 'version three' });
      await waitForText('the deleted line on the left', printCell.locator('.hops-Lines-text.hops-mod-delete'), /print\('version one'\)/);
      await waitForText('the inserted line on the right', printCell.locator('.hops-Lines-text.hops-mod-insert'), /print\('version three'\)/);
      assert.ok(await printCell.locator('.hops-Word').count() >= 2, 'the changed words are highlighted on both sides');

      // The image cell: the red PNG on the left, the green one on the right.
      const images = diffView().locator('.hops-Images');
      await images.scrollIntoViewIfNeeded();
      const oldImg = images.locator('.hops-Image.hops-mod-old img');
      const newImg = images.locator('.hops-Image.hops-mod-new img');
      await waitFor('both images to load', async () =>
        (await oldImg.evaluate((e) => e.complete && e.naturalWidth > 0)) &&
        (await newImg.evaluate((e) => e.complete && e.naturalWidth > 0)), { timeout: UI_TIMEOUT });
      assert.match(await oldImg.getAttribute('src'), /^data:image\/png;base64,/);
      const [oldBox, newBox] = [await oldImg.boundingBox(), await newImg.boundingBox()];
      assert.ok(oldBox.x + oldBox.width <= newBox.x && Math.abs(oldBox.y - newBox.y) < 2, 'the images are side by side');
      assert.deepEqual(await centreColour(oldImg), RED, 'the old image is the red one');
      assert.deepEqual(await centreColour(newImg), GREEN, 'the new image is the green one');
      // The added cell and the folded unchanged one.
      await waitForText('the cell added by the second save', diffView().locator('.hops-DiffCell.hops-mod-added'), /second save/);
      await waitForText('the unchanged title cell folded', diffView().locator('.hops-CellFold-bar'), /1 unchanged cell/);
      await images.locator('figure').first().scrollIntoViewIfNeeded();
    });
    await screenshot('diff-images', diffView());
  });

  test('unchanged cells expand on click; "Ignore outputs" compares again without outputs', STEP, () =>
    step('diff-options', async () => {
      const fold = diffView().locator('.hops-CellFold').first();
      await fold.locator('.hops-CellFold-bar').click();
      await waitForText('the unchanged title cell shown', fold.locator('.hops-CellFold-body'), /hops versions e2e/);
      const toggle = page.locator('.hops-DiffPanel:not(.lm-mod-hidden) .hops-DiffToolbar-toggle', { hasText: 'Ignore outputs' });
      await toggle.locator('input').check();
      await waitForText('the summary to say outputs are ignored', diffView().locator('.hops-DiffView-summary'), /ignoring outputs/);
      assert.equal(await diffView().locator('.hops-Images').count(), 0, 'no image comparison while outputs are ignored');
      await toggle.locator('input').uncheck();
      await diffView().locator('.hops-Images').waitFor({ timeout: UI_TIMEOUT });
      await waitForText('the opened fold to stay open across the refetch', fold.locator('.hops-CellFold-body'), /hops versions e2e/);
    }));

  test('"hops: Compare with previous version" shows what the last save changed', STEP, () =>
    step('compare-previous', async () => {
      await page.locator('.lm-TabBar-tab', { hasText: NOTEBOOK }).first().click();
      await page.keyboard.press('Control+Shift+c');
      await page.locator('.lm-CommandPalette-input').fill('hops: Compare with previous version');
      await page.keyboard.press('Enter');
      await waitForText('a diff of the second save with the third', diffView().locator('.hops-DiffView-header'),
        new RegExp(`${saves[1].slice(0, 7)}[\\s\\S]*${saves[2].slice(0, 7)}`));
    }));

  test('restoring the first save reverts the open notebook, as a new version', STEP, () =>
    step('restored', async () => {
      const before = (await versionsFromAPI()).length;
      await page.locator('.lm-TabBar-tab', { hasText: NOTEBOOK }).first().click();
      await notebook().waitFor({ timeout: UI_TIMEOUT });
      const target = row(saves[0]);
      await target.hover();
      await target.locator('.hops-LinkButton', { hasText: 'Restore' }).click();
      const dialog = page.locator('.jp-Dialog');
      await waitForText('the restore dialog', dialog, /Restore this version\?[\s\S]*recorded as a new version/);
      await screenshot('restore-dialog');
      await dialog.locator('.jp-Dialog-button.jp-mod-accept').click();
      await dialog.waitFor({ state: 'detached', timeout: UI_TIMEOUT });

      await waitFor('the notebook to show the first save again (3 cells, the old print and the red image)', async () =>
        (await cellCount()) === 3 && /version one/.test(await cell(1).locator('.cm-content').innerText()), { timeout: UI_TIMEOUT });
      assert.match(await cell(2).locator('.cm-content').innerText(), /200, 40, 40/, 'the image cell is the red one again');
      await waitForText('the restored output', outputs(1), /^version one$/m);
      const restoredImg = outputs(2).locator('img');
      await restoredImg.waitFor({ timeout: UI_TIMEOUT });
      await waitFor('the restored image to load', () => restoredImg.evaluate((e) => e.complete && e.naturalWidth > 0));
      assert.deepEqual(await centreColour(restoredImg), RED, 'the restored output image is the red one');

      const model = await server.json(`api/contents/${encodeURIComponent(NOTEBOOK)}?content=1`);
      const sources = model.content.cells.map((c) => c.source);
      assert.equal(sources.length, 3, `the file on disk has the first save's cells: ${JSON.stringify(sources)}`);
      assert.match(sources[1], /version one/);
      const after = await waitFor('the restore to be a new version in the panel', async () => {
        const v = await versionsFromAPI();
        return v.length === before + 1 && (await rows().count()) === v.length && v;
      }, { timeout: UI_TIMEOUT });
      assert.notEqual(after[0].commit, saves[2], 'the restore made a new commit');
      assert.equal(await page.locator('.lm-TabBar-tab.jp-mod-current.jp-mod-dirty').count(), 0, 'the notebook is clean');
    }));

  test('a save while the panel is open shows up in it at once', STEP, () =>
    step('saved-with-panel-open', async () => {
      // A dialog left by a failure of the step before must not block this one.
      for (let i = 0; i < 3 && (await page.locator('.jp-Dialog').count()) > 0; i++) {
        await page.keyboard.press('Escape');
        await page.locator('.jp-Dialog').first().waitFor({ state: 'detached', timeout: 5_000 }).catch(() => {});
      }
      await page.locator('.lm-TabBar-tab', { hasText: NOTEBOOK }).first().click();
      await setAndRun(0, "title = 'saved with the panel open'");
      const version = await save();
      await row(version.commit).waitFor({ timeout: UI_TIMEOUT });
      assert.equal(await rows().first().getAttribute('data-commit'), version.commit, 'the new version is on top');
      assert.match(await rows().first().innerText(), /latest/);
    }));

  test('File ▸ Revert Notebook to Checkpoint offers the git versions and reverts to one', STEP, () =>
    step('reverted-to-checkpoint', async () => {
      const versions = (await versionsFromAPI()).filter((v) => !v.deleted);
      const wanted = versions.findIndex((v) => v.commit === saves[1]);
      const old = await server.json(`api/hops/versions/${encodeURIComponent(NOTEBOOK)}/${saves[1]}`);
      await page.locator('.lm-TabBar-tab', { hasText: NOTEBOOK }).first().click();
      await page.locator('.lm-MenuBar-itemLabel', { hasText: /^File$/ }).click();
      await page.locator('.lm-Menu-itemLabel', { hasText: 'Revert Notebook to Checkpoint' }).click();
      const choose = page.locator('.jp-Dialog select');
      await choose.waitFor({ timeout: UI_TIMEOUT });
      assert.equal(await choose.locator('option').count(), versions.length, 'every version is a checkpoint to choose from');
      await choose.selectOption({ index: wanted });
      await screenshot('checkpoint-chooser');
      await page.locator('.jp-Dialog .jp-Dialog-button.jp-mod-accept').click();
      await waitForText('the confirmation', page.locator('.jp-Dialog'), /Revert notebook to checkpoint/i);
      await page.locator('.jp-Dialog .jp-Dialog-button.jp-mod-warn').click();
      await page.locator('.jp-Dialog').waitFor({ state: 'detached', timeout: UI_TIMEOUT });
      await waitFor('the notebook to show the second save again', async () => (await cellCount()) === old.cells.length,
        { timeout: UI_TIMEOUT });
      const model = await server.json(`api/contents/${encodeURIComponent(NOTEBOOK)}?content=1`);
      const source = (c) => (Array.isArray(c.source) ? c.source.join('') : c.source);
      assert.deepEqual(model.content.cells.map(source), old.cells.map(source),
        'the file on disk is the second save again');
      assert.equal((await versionsFromAPI())[0].message.startsWith('Restore'), true, 'the revert is a new version');
    }));

  test('after a reload, the diff views and the Versions panel come back', STEP, () =>
    step('reloaded', async () => {
      const tabs = async () => (await page.locator('.lm-TabBar-tab').allInnerTexts()).filter((t) => t.includes('↔')).sort();
      const before = await tabs();
      assert.ok(before.length >= 2, `diff tabs open before the reload: ${before}`);
      await page.reload({ timeout: UI_TIMEOUT });
      await notebook().waitFor({ timeout: UI_TIMEOUT });
      await waitFor('the diff tabs to be restored', async () =>
        JSON.stringify(await tabs()) === JSON.stringify(before), { timeout: UI_TIMEOUT });
      await rows().first().waitFor({ timeout: UI_TIMEOUT });
    }));

  test('no uncaught errors in the page', () => {
    assert.deepEqual(browser.pageErrors, [], 'uncaught page errors');
  });
});
