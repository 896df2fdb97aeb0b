// The Versions side panel: the git history of the current notebook, newest first. Pick one version to compare
// with the current file or two to compare with each other; restore any version through the checkpoints API.

import { Dialog, Notification, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import { DocumentRegistry } from '@jupyterlab/docregistry';
import { refreshIcon } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { APIError, CURRENT, IVersion, IVersionList, VersionsAPI } from './api';
import { IComparison } from './diffview';
import { errorText, h, iconButton, message } from './dom';
import { versionsIcon } from './icons';
import { exactTime, relativeTime } from './time';

/** How many versions the panel lists. */
const LIMIT = 100;

export interface IVersionsPanelOptions {
  api: VersionsAPI;
  /** Opens (or shows) the diff view of a comparison. */
  openDiff: (c: IComparison) => void;
  /** The workspace path of a context's file (without a drive prefix). */
  localPath: (path: string) => string;
}

type State =
  | { kind: 'none' }
  | { kind: 'loading' }
  | { kind: 'error'; message: string }
  | { kind: 'list'; list: IVersionList };

export class VersionsPanel extends Widget {
  constructor(private readonly _opts: IVersionsPanelOptions) {
    super();
    this.id = 'hops-versions';
    this.addClass('hops-VersionsPanel');
    this.title.icon = versionsIcon;
    this.title.caption = 'Notebook versions (every save is a version)';

    this._refreshButton = iconButton(refreshIcon, { label: 'Refresh', title: 'Reload the list of versions' }, () => void this.refresh());
    this._compareButton = h('button', {
      class: 'hops-Button hops-mod-accept',
      attrs: { type: 'button' },
      on: { click: () => this._compareSelected() }
    });
    this._clearButton = h('button', {
      class: 'hops-Button',
      text: 'Clear',
      title: 'Clear the selection',
      attrs: { type: 'button' },
      on: {
        click: () => {
          this._selected = [];
          this._renderSelection();
        }
      }
    });
    this.node.append(
      h(
        'header',
        { class: 'hops-VersionsPanel-header' },
        h('h2', { class: 'hops-VersionsPanel-title', text: 'Versions' }),
        this._refreshButton
      ),
      this._fileLine,
      this._banner,
      h(
        'div',
        { class: 'hops-VersionsPanel-actions' },
        this._compareButton,
        this._clearButton,
        this._hint
      ),
      this._body
    );
    this._render();
    this._renderSelection();
  }

  /** The notebook whose versions are shown, or null. */
  get context(): DocumentRegistry.Context | null {
    return this._context;
  }

  /** Follows another notebook (null: none is open). */
  setContext(context: DocumentRegistry.Context | null): void {
    if (context === this._context) {
      return;
    }
    if (this._context) {
      this._context.saveState.disconnect(this._onSaveState);
      this._context.pathChanged.disconnect(this._onPathChanged);
      this._context.disposed.disconnect(this._onContextDisposed);
    }
    this._context = context;
    this._selected = [];
    this._state = context ? { kind: 'loading' } : { kind: 'none' };
    if (context) {
      context.saveState.connect(this._onSaveState);
      context.pathChanged.connect(this._onPathChanged);
      context.disposed.connect(this._onContextDisposed);
    }
    this._stale = true;
    this._render();
    if (this.isVisible) {
      void this.refresh();
    }
  }

  /** The path of the followed notebook in the workspace. */
  get path(): string | null {
    return this._context ? this._opts.localPath(this._context.path) : null;
  }

  /** Reloads the list of versions (only while the panel is shown; otherwise on its next showing). */
  async refresh(): Promise<void> {
    const path = this.path;
    if (!path) {
      this._state = { kind: 'none' };
      this._render();
      return;
    }
    if (!this.isVisible) {
      this._stale = true;
      return;
    }
    this._stale = false;
    const request = ++this._request;
    this.node.classList.add('hops-mod-loading');
    if (this._state.kind !== 'list') {
      this._state = { kind: 'loading' };
      this._render();
    }
    try {
      const list = await this._opts.api.versions(path, LIMIT);
      if (request === this._request) {
        this._state = { kind: 'list', list };
        const known = new Set(list.versions.map(v => v.commit));
        this._selected = this._selected.filter(c => known.has(c));
      }
    } catch (err) {
      if (request === this._request) {
        const message = errorText(err);
        // A file the history does not know yet (never saved since history began) has no versions.
        this._state =
          err instanceof APIError && err.status === 404
            ? { kind: 'list', list: { path, versions: [], more: false } }
            : { kind: 'error', message };
      }
    } finally {
      if (request === this._request) {
        this.node.classList.remove('hops-mod-loading');
        this._render();
      }
    }
  }

  /** The versions last listed (newest first). */
  get versions(): readonly IVersion[] {
    return this._state.kind === 'list' ? this._state.list.versions : [];
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    if (this._stale) {
      void this.refresh();
    } else {
      this._updateTimes();
    }
    this._clock = window.setInterval(() => this._updateTimes(), 30_000);
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    window.clearInterval(this._clock);
  }

  dispose(): void {
    window.clearInterval(this._clock);
    this.setContext(null);
    super.dispose();
  }

  // Signal handlers, as arrow functions so that they can be disconnected as they were connected.
  private readonly _onSaveState = (_: DocumentRegistry.Context, state: DocumentRegistry.SaveState): void => {
    if (state === 'completed') {
      void this.refresh();
    }
  };

  private readonly _onPathChanged = (): void => {
    this._selected = [];
    void this.refresh();
  };

  private readonly _onContextDisposed = (): void => {
    this.setContext(null);
  };

  // -------------------------------------------------------------------------------------------------------------
  // rendering

  private _render(): void {
    const path = this.path;
    this._fileLine.replaceChildren();
    if (path) {
      this._fileLine.append(
        h('span', { class: 'hops-VersionsPanel-fileName', text: PathExt.basename(path), title: path })
      );
      const dir = PathExt.dirname(path);
      if (dir) {
        this._fileLine.append(h('span', { class: 'hops-Muted', text: ` in ${dir}` }));
      }
    }

    this._banner.replaceChildren();
    this._banner.hidden = true;
    const state = this._state;
    if (state.kind === 'list' && state.list.error) {
      this._banner.hidden = false;
      this._banner.append(
        h('strong', { text: 'The last save is not in the history.' }),
        h('div', { text: state.list.error }),
        h('div', {
          class: 'hops-Muted',
          text: 'The file itself was saved. Save again once the problem is fixed to record a version.'
        })
      );
    }

    this._body.replaceChildren();
    switch (state.kind) {
      case 'none':
        this._body.append(
          message('Open a notebook to see its versions.', 'Every save of a notebook records a version in the git history of the workspace.')
        );
        break;
      case 'loading':
        this._body.append(message('Loading versions…'));
        break;
      case 'error':
        this._body.append(message(errorTitle(state.message), state.message, true));
        break;
      case 'list':
        if (state.list.versions.length === 0) {
          this._body.append(
            message('No versions yet — save to create one.', 'Every save (Ctrl+S) records a version in the history.')
          );
        } else {
          this._body.append(this._list(state.list));
        }
        break;
    }
    this._renderSelection();
  }

  private _list(list: IVersionList): HTMLElement {
    const ul = h('ul', { class: 'hops-VersionList', attrs: { role: 'listbox', 'aria-multiselectable': 'true' } });
    list.versions.forEach((v, i) => ul.append(this._item(v, i, list.versions)));
    const box = h('div', { class: 'hops-VersionList-box' }, ul);
    if (list.more) {
      box.append(
        h('div', { class: 'hops-VersionList-more hops-Muted', text: `Showing the latest ${list.versions.length} versions.` })
      );
    }
    return box;
  }

  private _item(v: IVersion, index: number, all: readonly IVersion[]): HTMLElement {
    const checkbox = h('input', {
      class: 'hops-Version-check',
      attrs: { type: 'checkbox', 'aria-label': `Select version ${v.short}` },
      title: 'Select for Compare'
    });
    checkbox.checked = this._selected.includes(v.commit);
    checkbox.addEventListener('click', ev => {
      ev.stopPropagation();
      this._toggle(v.commit);
    });
    const { name, email } = splitAuthor(v.author);
    const current = this.path;
    const meta = h(
      'div',
      { class: 'hops-Version-meta' },
      h('code', { class: 'hops-Version-hash', text: v.short, title: v.commit }),
      h('time', {
        class: 'hops-Version-time',
        text: relativeTime(v.time),
        title: exactTime(v.time),
        attrs: { datetime: v.time }
      }),
      name ? h('span', { class: 'hops-Version-author', text: name, title: v.author || email }) : null,
      v.cells ? stats(v.cells) : null,
      v.path && current && v.path !== current
        ? h('span', { class: 'hops-Version-path', text: `as ${PathExt.basename(v.path)}`, title: `Saved as ${v.path}` })
        : null
    );
    const actions = h('div', { class: 'hops-Version-actions' });
    if (index + 1 < all.length) {
      actions.append(
        h('button', {
          class: 'hops-LinkButton',
          text: 'Changes',
          title: `Show what this save changed (compare with the version before it, ${all[index + 1].short})`,
          attrs: { type: 'button' },
          on: {
            click: ev => {
              ev.stopPropagation();
              this._openDiff(all[index + 1].commit, v.commit);
            }
          }
        })
      );
    }
    actions.append(
      h('button', {
        class: 'hops-LinkButton',
        text: 'vs current',
        title: 'Compare this version with the current file on disk',
        attrs: { type: 'button' },
        on: {
          click: ev => {
            ev.stopPropagation();
            this._openDiff(v.commit, CURRENT);
          }
        }
      }),
      h('button', {
        class: 'hops-LinkButton hops-mod-warn',
        text: 'Restore',
        title: 'Replace the notebook with this version (recorded as a new version; nothing is lost)',
        attrs: { type: 'button' },
        on: {
          click: ev => {
            ev.stopPropagation();
            void this._restore(v);
          }
        }
      })
    );
    const li = h(
      'li',
      {
        class: 'hops-Version',
        attrs: { role: 'option', 'data-commit': v.commit, tabindex: '0' }
      },
      checkbox,
      h(
        'div',
        { class: 'hops-Version-main' },
        h(
          'div',
          { class: 'hops-Version-line' },
          h('span', { class: 'hops-Version-message', text: v.message || '(no message)', title: v.message }),
          index === 0 ? h('span', { class: 'hops-Version-tag', text: 'latest', title: 'The last saved version' }) : null
        ),
        meta,
        actions
      )
    );
    if (index === 0) {
      li.classList.add('hops-mod-latest');
    }
    li.addEventListener('click', () => this._toggle(v.commit));
    li.addEventListener('keydown', ev => {
      if (ev.key === ' ' || ev.key === 'Enter') {
        ev.preventDefault();
        this._toggle(v.commit);
      }
    });
    return li;
  }

  /** Selects or unselects a version; a third selection drops the first one. */
  private _toggle(commit: string): void {
    if (this._selected.includes(commit)) {
      this._selected = this._selected.filter(c => c !== commit);
    } else {
      this._selected = [...this._selected, commit].slice(-2);
    }
    this._renderSelection();
  }

  private _renderSelection(): void {
    for (const li of Array.from(this._body.querySelectorAll<HTMLElement>('.hops-Version'))) {
      const on = this._selected.includes(li.dataset.commit ?? '');
      li.classList.toggle('hops-mod-selected', on);
      li.setAttribute('aria-selected', String(on));
      const box = li.querySelector<HTMLInputElement>('.hops-Version-check');
      if (box) {
        box.checked = on;
      }
    }
    const pair = this._pair();
    const short = (c: string): string => this.versions.find(v => v.commit === c)?.short ?? c.slice(0, 7);
    const listed = this._state.kind === 'list' && this.versions.length > 0;
    this._compareButton.disabled = !pair;
    this._clearButton.hidden = this._selected.length === 0;
    if (pair && pair.to === CURRENT) {
      this._compareButton.textContent = `Compare ${short(pair.from)} with current`;
      this._compareButton.title = 'Compare the selected version with the file on disk (unsaved changes are not included)';
    } else if (pair) {
      this._compareButton.textContent = `Compare ${short(pair.from)} → ${short(pair.to)}`;
      this._compareButton.title = 'Compare the older selected version with the newer one';
    } else {
      this._compareButton.textContent = 'Compare';
      this._compareButton.title = 'Select one version to compare with the current file, or two to compare them';
    }
    this._hint.hidden = !listed || this._selected.length > 0;
    this._hint.textContent = 'Select one version to compare with the current file, or two.';
    this._compareButton.parentElement?.toggleAttribute('hidden', !listed);
  }

  /** The selection as a comparison: older → newer, or the one selected → current. */
  private _pair(): { from: string; to: string } | null {
    if (this._selected.length === 0) {
      return null;
    }
    if (this._selected.length === 1) {
      return { from: this._selected[0], to: CURRENT };
    }
    const order = (c: string): number => this.versions.findIndex(v => v.commit === c);
    const [a, b] = this._selected;
    // Newest first in the list: the larger index is the older version.
    return order(a) > order(b) ? { from: a, to: b } : { from: b, to: a };
  }

  private _compareSelected(): void {
    const pair = this._pair();
    if (pair) {
      this._openDiff(pair.from, pair.to);
    }
  }

  private _openDiff(from: string, to: string): void {
    const path = this.path;
    if (path) {
      this._opts.openDiff({ path, from, to });
    }
  }

  private async _restore(v: IVersion): Promise<void> {
    const context = this._context;
    const path = this.path;
    if (!context || !path) {
      return;
    }
    const body = h(
      'div',
      { class: 'hops-RestoreDialog' },
      h('p', {
        text: `Replace the content of ${PathExt.basename(path)} with the version saved ${relativeTime(v.time)} (${exactTime(v.time)}):`
      }),
      h('p', {}, h('code', { text: v.short }), ` ${v.message}`),
      h('p', {
        class: 'hops-Muted',
        text: 'The restore is recorded as a new version, so the current content stays in the history and can be restored in turn.'
      })
    );
    if (context.model.dirty) {
      body.append(
        h('p', { class: 'hops-RestoreDialog-warning', text: 'The notebook has unsaved changes: they will be lost.' })
      );
    }
    const result = await showDialog({
      title: 'Restore this version?',
      body: new Widget({ node: body }),
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Restore' })]
    });
    if (!result.button.accept || context.isDisposed) {
      return;
    }
    try {
      await context.restoreCheckpoint(v.commit);
      await context.revert();
      Notification.success(`Restored ${PathExt.basename(path)} to version ${v.short}.`, { autoClose: 4000 });
    } catch (err) {
      await showErrorMessage('Restore failed', errorText(err));
    }
    void this.refresh();
  }

  /** Rewrites the relative times ("5 minutes ago") of the listed versions. */
  private _updateTimes(): void {
    for (const t of Array.from(this._body.querySelectorAll<HTMLTimeElement>('time.hops-Version-time'))) {
      t.textContent = relativeTime(t.dateTime);
    }
  }

  private _context: DocumentRegistry.Context | null = null;
  private _state: State = { kind: 'none' };
  private _selected: string[] = [];
  private _stale = true;
  private _request = 0;
  private _clock = 0;
  private readonly _fileLine = h('div', { class: 'hops-VersionsPanel-file' });
  private readonly _banner = h('div', { class: 'hops-Banner hops-mod-warning', attrs: { role: 'alert' } });
  private readonly _hint = h('span', { class: 'hops-VersionsPanel-hint hops-Muted' });
  private readonly _body = h('div', { class: 'hops-VersionsPanel-body' });
  private readonly _refreshButton: HTMLButtonElement;
  private readonly _compareButton: HTMLButtonElement;
  private readonly _clearButton: HTMLButtonElement;
}

function errorTitle(message: string): string {
  return /not a notebook/i.test(message) ? 'Not a notebook' : 'Cannot list versions';
}

/** "Ada Lovelace <ada@example.com>" → name and email. */
export function splitAuthor(author: string): { name: string; email: string } {
  const m = /^(.*?)\s*<([^>]*)>\s*$/.exec(author ?? '');
  return m ? { name: m[1] || m[2], email: m[2] } : { name: author ?? '', email: '' };
}

/** "+1 −0 ~2 cells" with colours, and the counts in words on hover. */
function stats(c: { added: number; removed: number; changed: number }): HTMLElement {
  return h(
    'span',
    {
      class: 'hops-Stats',
      title: `${c.added} cell${c.added === 1 ? '' : 's'} added, ${c.removed} removed, ${c.changed} changed (against the version before)`
    },
    h('span', { class: 'hops-Stats-added', text: `+${c.added}` }),
    h('span', { class: 'hops-Stats-removed', text: `−${c.removed}` }),
    h('span', { class: 'hops-Stats-changed', text: `~${c.changed}` }),
    h('span', { class: 'hops-Muted', text: 'cells' })
  );
}
