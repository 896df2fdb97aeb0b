// JupyterLab 4, unchanged, on `hops lab`: a user's session in headless chromium (playwright-core driving Debian's
// /usr/bin/chromium). The steps run in order on one page; each saves a screenshot in tests/artifacts/web/.
//
// Runs against the hops server only (HOPS_WEB_SERVER=hops, the default): jupyter_server alone serves no /lab.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { LabSession, notebookLocators, labWaits } from './browser.mjs';
import {
  chromiumAvailability,
  KIND,
  kernelProcesses,
  serverAvailability,
  skipUnless,
  sleep,
  waitFor,
} from './harness.mjs';

const requirements = [serverAvailability(), chromiumAvailability()];
const skip = KIND !== 'hops' ? 'the lab end-to-end test runs against hops only' : skipUnless(...requirements);

// JupyterLab's first load on 2 shared cores takes seconds; kernels start an engine. Generous, never timed.
const UI_TIMEOUT = 60_000;
const KERNEL_TIMEOUT = 90_000;
const STEP = { timeout: 240_000 };

// Uncaught errors that are JupyterLab's own reaction to a kernel dying under it, seen with jupyter_server as much
// as with hops: restarting disposes the pending kernel_info future, whose rejection nobody handles.
const JUPYTERLAB_OWN_ERRORS = [/Canceled future for \w+ message before replies were done/];
const KERNEL_LABEL = 'Python 3 (hops)';

let server;
let page;
const lab = new LabSession('lab');
const { browser } = lab;

describe('JupyterLab on hops lab', { skip }, () => {
  before(async () => {
    ({ server, page } = await lab.start(requirements, { viewport: { width: 1400, height: 900 }, timeout: UI_TIMEOUT }));
  });

  after(() => lab.stop());

  // -------------------------------------------------------------------------------------------------------------
  // helpers

  const { screenshot, step } = lab;

  const { notebook, cell, cellCount, outputs } = notebookLocators(browser);
  const { waitForText, kernelStatus, waitForKernelStatus } = labWaits(browser, { uiTimeout: UI_TIMEOUT, kernelTimeout: KERNEL_TIMEOUT });

  /**
   * Types `code` into the last cell (a new one below if the last is not empty), runs it with Shift+Enter and
   * returns the cell's index.
   */
  async function runCell(code) {
    let i = (await cellCount()) - 1;
    assert.ok(i >= 0, 'the notebook has cells');
    const last = cell(i).locator('.cm-content');
    if ((await last.innerText()).trim() !== '') {
      await last.click();
      await page.keyboard.press('Escape');
      await page.keyboard.press('b'); // insert a cell below
      i++;
      await waitFor(`a new cell ${i}`, async () => (await cellCount()) > i, { timeout: UI_TIMEOUT });
    }
    await cell(i).locator('.cm-content').click();
    await page.keyboard.type(code);
    await page.keyboard.press('Shift+Enter');
    return i;
  }

  /** Outputs of cell `i`. */

  /** Closes the open dialogs (at most 5) with their accept button ("Ok"). */
  async function dismissDialogs() {
    const dialog = page.locator('.jp-Dialog');
    for (let i = 0; i < 5 && (await dialog.count()) > 0; i++) {
      await dialog.first().locator('.jp-Dialog-button.jp-mod-accept, .jp-Dialog-button').last().click();
      await sleep(300);
    }
    assert.equal(await dialog.count(), 0, 'no dialog left open');
  }

  async function restartFromKernelMenu() {
    await page.locator('.lm-MenuBar-item', { hasText: /^Kernel$/ }).click();
    await page.locator('.lm-Menu-item[data-command="kernelmenu:restart"]').click();
    const dialog = page.locator('.jp-Dialog');
    await dialog.waitFor({ timeout: UI_TIMEOUT });
    const text = await dialog.innerText();
    assert.match(text, /restart/i, `the restart dialog asks to restart: ${text}`);
    await dialog.locator('.jp-Dialog-button.jp-mod-accept').click();
    await dialog.waitFor({ state: 'detached', timeout: UI_TIMEOUT });
  }

  let notebookPath = 'Untitled.ipynb';

  async function savedNotebook() {
    const res = await server.api(`api/contents/${encodeURIComponent(notebookPath)}?type=notebook&content=1`);
    return res.status === 200 ? res.json() : null;
  }

  // -------------------------------------------------------------------------------------------------------------

  test('opens /lab with the token and shows the launcher with the "Python 3 (hops)" tile', STEP, () =>
    step('launcher', async () => {
      await page.goto(`${server.baseUrl}lab?token=${server.token}`, { timeout: UI_TIMEOUT });
      await page.locator('.jp-Launcher').waitFor({ timeout: UI_TIMEOUT });
      await page.locator(`.jp-LauncherCard[data-category="Notebook"][title="${KERNEL_LABEL}"]`)
        .waitFor({ timeout: UI_TIMEOUT });
      assert.ok(!page.url().includes(server.token), 'the token is stripped from the address bar');
    }));

  test('creates a notebook from the launcher and runs a Python cell and a %hops version cell', STEP, () =>
    step('outputs', async () => {
      await page.locator(`.jp-LauncherCard[data-category="Notebook"][title="${KERNEL_LABEL}"]`).click();
      await notebook().waitFor({ timeout: UI_TIMEOUT });
      await waitForText('the notebook tab', page.locator('.lm-TabBar-tab.jp-mod-current'), /Untitled\.ipynb/);
      await waitForKernelStatus(/^Idle$/, 'Idle after the kernel started');
      const python = await runCell('print(6 * 7)');
      await waitForText('the output of print(6 * 7)', outputs(python), /^42$/m, KERNEL_TIMEOUT);
      const magic = await runCell('%hops version');
      await waitForText('the output of %hops version', outputs(magic), /hops \S+[\s\S]*Jupyter protocol/, KERNEL_TIMEOUT);
    }));

  test('saves with Ctrl+S: the file on the server has the outputs', STEP, () =>
    step('saved', async () => {
      await cell(0).locator('.jp-InputArea-prompt').click(); // command mode, focus in the notebook
      await page.keyboard.press('Control+s');
      // JupyterLab offers to rename an untitled notebook on its first save: keep the name.
      const rename = page.locator('.jp-Dialog', { hasText: 'Rename file' });
      await waitFor('the save to complete or the rename-on-first-save dialog', async () =>
        (await rename.count()) > 0 || (await page.locator('.lm-TabBar-tab.jp-mod-current.jp-mod-dirty').count()) === 0,
      { timeout: UI_TIMEOUT });
      if ((await rename.count()) > 0) await rename.locator('.jp-Dialog-button.jp-mod-accept').click();
      await waitFor('the tab to lose its unsaved-changes mark',
        async () => (await page.locator('.lm-TabBar-tab.jp-mod-current.jp-mod-dirty').count()) === 0,
        { timeout: UI_TIMEOUT });
      const nb = await waitFor(`GET /api/contents/${notebookPath} to hold both outputs`, async () => {
        const model = await savedNotebook();
        const text = JSON.stringify(model?.content?.cells ?? []);
        return text.includes('42') && text.includes('Jupyter protocol') && model;
      }, { timeout: UI_TIMEOUT });
      assert.equal(nb.content.metadata.kernelspec?.name, 'hops', 'the notebook records the hops kernelspec');
    }));

  test('reloads the page and shows the saved outputs', STEP, () =>
    step('reloaded', async () => {
      await page.reload({ timeout: UI_TIMEOUT });
      await notebook().waitFor({ timeout: UI_TIMEOUT });
      await waitForText('the restored output of print(6 * 7)', outputs(0), /^42$/m);
      await waitForText('the restored output of %hops version', outputs(1), /Jupyter protocol/);
      await waitForKernelStatus(/^Idle$/, 'Idle after the reload');
    }));

  test('renames the notebook in the file browser', STEP, () =>
    step('renamed', async () => {
      const tab = page.locator('.jp-SideBar .lm-TabBar-tab[data-id="filebrowser"]');
      if (!(await tab.getAttribute('class', { timeout: UI_TIMEOUT })).includes('lm-mod-current')) await tab.click();
      const item = page.locator('.jp-DirListing-item[title^="Name: Untitled.ipynb"]');
      await item.click({ button: 'right', timeout: UI_TIMEOUT });
      await page.locator('.lm-Menu-item[data-command="filebrowser:rename"]').click();
      const editor = page.locator('.jp-DirListing-editor');
      await editor.waitFor({ timeout: UI_TIMEOUT });
      await editor.fill('hops-e2e.ipynb');
      await editor.press('Enter');
      await page.locator('.jp-DirListing-item[title^="Name: hops-e2e.ipynb"]').waitFor({ timeout: UI_TIMEOUT });
      await waitForText('the renamed tab', page.locator('.lm-TabBar-tab.jp-mod-current'), /hops-e2e\.ipynb/);
      notebookPath = 'hops-e2e.ipynb';
      assert.ok(await savedNotebook(), 'GET /api/contents/hops-e2e.ipynb finds the renamed notebook');
      assert.equal((await server.api('api/contents/Untitled.ipynb')).status, 404, 'the old name is gone');
      await waitFor('the session to follow the rename (GET /api/sessions)', async () =>
        (await server.json('api/sessions')).some((s) => s.path === 'hops-e2e.ipynb'), { timeout: UI_TIMEOUT });
    }));

  test('interrupts a sleeping cell with the toolbar stop button', STEP, () =>
    step('interrupted', async () => {
      const sleeping = await runCell('import time; time.sleep(60)');
      await waitForKernelStatus(/^Busy$/, 'Busy while the cell sleeps');
      await notebook().locator('[data-jp-item-name="interrupt"] jp-button').click();
      await waitForText('KeyboardInterrupt in the output of the sleeping cell', outputs(sleeping), /KeyboardInterrupt/);
      await waitForKernelStatus(/^Idle$/, 'Idle after the interrupt');
    }));

  test('restarts the kernel from the Kernel menu and it comes back idle', STEP, () =>
    step('restarted', async () => {
      const setter = await runCell('before_restart = 1; print("set")');
      await waitForText('the output of the cell before the restart', outputs(setter), /^set$/m, KERNEL_TIMEOUT);
      await restartFromKernelMenu();
      await waitForKernelStatus(/^Idle$/, 'Idle after the restart');
      const probe = await runCell("print('before_restart' in globals())");
      await waitForText('a fresh kernel (the variable is gone)', outputs(probe), /^False$/m, KERNEL_TIMEOUT);
    }));

  test('kill -9 of the kernel process: JupyterLab shows it restarting or dead, and a restart works', STEP, () =>
    step('killed', async () => {
      const sessions = await server.json('api/sessions');
      const session = sessions.find((s) => s.path === notebookPath);
      assert.ok(session, `a session for ${notebookPath} in GET /api/sessions: ${JSON.stringify(sessions)}`);
      const kernelId = session.kernel.id;
      const procs = kernelProcesses(kernelId);
      assert.ok(procs.length > 0, `a process whose argv names kernel-${kernelId}.json`);
      for (const p of procs) process.kill(p.pid, 'SIGKILL');

      // JupyterLab shows the death either in a dialog ("Kernel Restarting" / "Kernel Dead"...) or in the status bar.
      const shown = await waitFor('JupyterLab to show the kernel restarting or dead (dialog or status bar)', async () => {
        const dialogs = await page.locator('.jp-Dialog').allInnerTexts();
        const dialog = dialogs.find((t) => /restart|died|dead/i.test(t));
        if (dialog) return `dialog: ${dialog.replace(/\s+/g, ' ').trim()}`;
        const status = await kernelStatus();
        return /Restarting|Dead|Autorestarting/i.test(status) && `status bar: ${status}`;
      }, { timeout: KERNEL_TIMEOUT, interval: 100 });
      await screenshot('kernel-shown-dead-or-restarting');
      console.log(`after kill -9 JupyterLab showed: ${shown}`);
      await dismissDialogs();

      await restartFromKernelMenu();
      await waitForKernelStatus(/^Idle$/, 'Idle after restarting the killed kernel');
      const alive = await runCell("print('alive after kill -9')");
      await waitForText('a cell running on the restarted kernel', outputs(alive), /^alive after kill -9$/m, KERNEL_TIMEOUT);
    }));

  test('no uncaught errors in the page', () => {
    const unexpected = browser.pageErrors.filter((e) => !JUPYTERLAB_OWN_ERRORS.some((re) => re.test(e)));
    assert.deepEqual(unexpected, [], 'uncaught page errors');
  });
});
