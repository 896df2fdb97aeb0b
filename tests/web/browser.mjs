// The browser half of the JupyterLab suites: headless Debian chromium (playwright-core) on a fresh profile, a page
// whose uncaught errors, console errors and failed requests are collected, tagged with the step they happened in,
// and steps that leave a screenshot of the page behind them in tests/artifacts/web/<prefix>-NN-<step>.png.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

import { ARTIFACTS, assertAvailable, CHROMIUM, startServer, waitFor } from './harness.mjs';

export class Browser {
  /** @param {string} prefix names this suite's screenshots */
  constructor(prefix) {
    this.prefix = prefix;
    this.shot = 0;
    this.currentStep = 'setup';
    this.pageErrors = [];
    this.consoleErrors = [];
    this.failedRequests = [];
  }

  /** Starts chromium and returns its page, every action and wait on it bounded by `timeout`. */
  async open({ viewport, timeout }) {
    mkdirSync(ARTIFACTS, { recursive: true });
    const earlier = new RegExp(`^${this.prefix}-\\d\\d-.*\\.png$`);
    for (const f of readdirSync(ARTIFACTS)) {
      if (earlier.test(f)) rmSync(join(ARTIFACTS, f)); // screenshots of an earlier run
    }
    this.userDataDir = mkdtempSync(join(tmpdir(), 'hops-web-chromium-'));
    this.context = await chromium.launchPersistentContext(this.userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      viewport,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    const page = this.context.pages()[0] ?? (await this.context.newPage());
    page.setDefaultTimeout(timeout);
    const tag = (s) => `[${this.currentStep}] ${s}`;
    page.on('pageerror', (err) => this.pageErrors.push(tag(err.stack || err.message)));
    page.on('console', (msg) => {
      if (msg.type() === 'error') this.consoleErrors.push(tag(`${msg.text()} (${msg.location().url})`));
    });
    page.on('response', (res) => {
      if (res.status() >= 400) this.failedRequests.push(tag(`${res.status()} ${res.request().method()} ${res.url()}`));
    });
    page.on('requestfailed', (req) => {
      // Requests cut short by a reload are not failures of the server.
      if (req.failure()?.errorText !== 'net::ERR_ABORTED') {
        this.failedRequests.push(tag(`${req.failure()?.errorText} ${req.method()} ${req.url()}`));
      }
    });
    this.page = page;
    return page;
  }

  /** Saves a screenshot of `target` (the page by default) and returns its path. */
  async screenshot(name, target = this.page) {
    this.shot++;
    const path = join(ARTIFACTS, `${this.prefix}-${String(this.shot).padStart(2, '0')}-${name}.png`);
    await target.screenshot({ path });
    return path;
  }

  /** Runs a step and screenshots the page after it (`<step>-FAILED` when it failed, named in the error with the
   * server's log). */
  async step(name, fn, server) {
    this.currentStep = name;
    try {
      await fn();
    } catch (err) {
      const path = await this.screenshot(`${name}-FAILED`).catch(() => '(no screenshot)');
      err.message += `\n(screenshot: ${path}; server log: ${server?.logPath})`;
      throw err;
    }
    await this.screenshot(name);
  }

  /** Prints what the page reported (the token redacted) and closes the browser. */
  async close(token) {
    const redact = (s) => s.replaceAll(token ?? '\0', '<token>');
    console.log(`browser: ${this.pageErrors.length} uncaught page errors, ${this.consoleErrors.length} console errors, ` +
      `${this.failedRequests.length} failed requests`);
    if (this.consoleErrors.length) console.log(`browser console errors:\n  ${this.consoleErrors.map(redact).join('\n  ')}`);
    if (this.failedRequests.length) {
      console.log(`failed requests (status >= 400):\n  ${this.failedRequests.map(redact).join('\n  ')}`);
    }
    if (this.pageErrors.length) console.log(`uncaught page errors:\n  ${this.pageErrors.join('\n  ')}`);
    await this.context?.close();
    if (this.userDataDir) rmSync(this.userDataDir, { recursive: true, force: true });
  }
}

/** Locators of the notebook JupyterLab shows in front, on the page `browser` opened. */
export function notebookLocators(browser) {
  const notebook = () => browser.page.locator('.jp-NotebookPanel:not(.lm-mod-hidden)');
  const cell = (i) => notebook().locator('.jp-Notebook .jp-Cell').nth(i);
  const cellCount = () => notebook().locator('.jp-Notebook .jp-Cell').count();
  const outputs = (i) => cell(i).locator('.jp-OutputArea-output');
  return { notebook, cell, cellCount, outputs };
}

/**
 * Waits on what JupyterLab shows in browser's page: a locator's text, the kernel status in the status bar. A
 * timeout's error says what was shown last.
 */
export function labWaits(browser, { uiTimeout, kernelTimeout = uiTimeout }) {
  /** Waits until the visible text of `locator` (all matches joined) matches `pattern`, and returns it. */
  async function waitForText(what, locator, pattern, timeout = uiTimeout) {
    let last = '';
    try {
      return await waitFor(`${what} (text matching ${pattern})`, async () => {
        last = (await locator.allInnerTexts()).join('\n');
        return pattern.test(last) ? last : false;
      }, { timeout, interval: 250 });
    } catch (err) {
      err.message += ` (last text: ${JSON.stringify(last.slice(-800))})`;
      throw err;
    }
  }

  /** The kernel status JupyterLab shows in the status bar: "Idle", "Busy", "Restarting", "Dead"... */
  async function kernelStatus() {
    const texts = await browser.page.locator('.jp-StatusBar-Item').allInnerTexts();
    const item = texts.find((t) => t.includes(' | '));
    return item ? item.split(' | ').pop().trim() : '';
  }

  async function waitForKernelStatus(pattern, what, timeout = kernelTimeout) {
    let last = '';
    try {
      return await waitFor(`the kernel status in the status bar to be ${what}`, async () => {
        last = await kernelStatus();
        return pattern.test(last) ? last : false;
      }, { timeout, interval: 250 });
    } catch (err) {
      err.message += ` (last shown: ${JSON.stringify(last)})`;
      throw err;
    }
  }

  return { waitForText, kernelStatus, waitForKernelStatus };
}

/**
 * A browser suite's fixture: a fresh hops lab (harness.startServer) and chromium on it. stop() closes both and
 * fails the suite if the server left kernel processes behind.
 */
export class LabSession {
  /** @param {string} name names the server's workspace and the screenshots */
  constructor(name) {
    this.name = name;
    this.browser = new Browser(name);
    this.server = null;
    this.page = null;
  }

  async start(requirements, { viewport, timeout }) {
    assertAvailable(...requirements);
    this.server = await startServer(this.name);
    this.page = await this.browser.open({ viewport, timeout });
    return this;
  }

  async stop() {
    await this.browser.close(this.server?.token);
    if (this.server) {
      const leaked = await this.server.stop();
      assert.deepEqual(leaked.map((p) => p.argv.join(' ')), [], 'kernel processes still alive after the server stopped');
    }
  }

  screenshot = (name, target) => this.browser.screenshot(name, target);

  step = (name, fn) => this.browser.step(name, fn, this.server);
}
